import { TaskManager } from '@andon/tasks';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKeys, defineBuiltinKinds } from '../src/index.js';
import { startApp, type TestApp } from './helpers.js';

const KEYS = `
# key                      user   role
sk-alice-0123456789abcdef  alice
sk-bob-0123456789abcdef    bob
sk-root-0123456789abcdef   root   admin
`;
const ALICE = 'sk-alice-0123456789abcdef';
const BOB = 'sk-bob-0123456789abcdef';
const ROOT = 'sk-root-0123456789abcdef';

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(): Promise<TestApp & { tasks: TaskManager }> {
  const tasks = await TaskManager.open();
  const app = await startApp({ tasks, apiKeys: ApiKeys.parse(KEYS, 'keys.txt') });
  defineBuiltinKinds(tasks, { backend: app.engine });
  apps.push(app);
  return Object.assign(app, { tasks });
}

function call(url: string, key: string | undefined, init: RequestInit = {}) {
  return fetch(url, {
    ...init,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...init.headers,
    },
  });
}

describe('API keys', () => {
  it('parses key user [admin] lines and names the file and line of a mistake', () => {
    const keys = ApiKeys.parse(KEYS, 'keys.txt');
    expect(keys.size).toBe(3);
    expect(keys.lookup(ALICE)).toEqual({ user: 'alice', admin: false });
    expect(keys.lookup(ROOT)).toEqual({ user: 'root', admin: true });
    expect(keys.lookup('sk-nobody-0123456789')).toBeUndefined();
    expect(() => ApiKeys.parse('short alice', 'k')).toThrow(
      /k, line 1: the key of alice is shorter than 16/,
    );
    expect(() => ApiKeys.parse('sk-0123456789abcdef', 'k')).toThrow(
      /k, line 1: expected "key user"/,
    );
    expect(() => ApiKeys.parse('sk-0123456789abcdef a superuser', 'k')).toThrow(/line 1/);
    expect(() => ApiKeys.parse(`${ALICE} a\n${ALICE} b`, 'k')).toThrow(
      /k, line 2: this key is listed twice/,
    );
    expect(() => ApiKeys.parse('# nothing\n', 'k')).toThrow(/k: no keys/);
  });

  it('without a valid Bearer key every endpoint but the probes answers 401', async () => {
    const app = await start();
    for (const path of ['/v1/models', '/metrics', '/v1/tasks', '/v1/chat/completions']) {
      const none = await call(`${app.url}${path}`, undefined);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = await none.json();
      expect(body.error).toMatchObject({ type: 'authentication_error', code: 'missing_api_key' });
      const wrong = await call(`${app.url}${path}`, 'sk-wrong-0123456789abcdef');
      expect((await wrong.json()).error.code, path).toBe('invalid_api_key');
    }
    expect((await call(`${app.url}/live`, undefined)).status).toBe(200);
    expect((await call(`${app.url}/health`, undefined)).status).toBe(200);
  });

  it('the official openai SDK works with a key, and is refused without the right one', async () => {
    const app = await start();
    const good = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: ALICE, maxRetries: 0 });
    const answer = await good.chat.completions.create({
      model: 'andon-sim',
      max_tokens: 4,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(answer.choices[0]!.message.content!.length).toBeGreaterThan(0);
    const bad = new OpenAI({
      baseURL: `${app.url}/v1`,
      apiKey: 'sk-wrong-0123456789abcdef',
      maxRetries: 0,
    });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('a task belongs to its creator: others get 403 and cannot cancel it; an admin can', async () => {
    const app = await start();
    const created = await call(`${app.url}/v1/tasks/demo/Count`, ALICE, {
      method: 'POST',
      body: JSON.stringify({ n: 1000, intervalMs: 50 }),
    });
    expect(created.status).toBe(201);
    const { id } = await created.json();
    const path = `${app.url}/v1/tasks/demo/Count/${id}`;
    expect((await (await call(path, ALICE)).json()).owner).toBe('alice');
    for (const attempt of [
      call(path, BOB),
      call(`${app.url}/v1/tasks/${id}`, BOB),
      call(`${path}/events`, BOB),
      call(`${path}/cancel`, BOB, { method: 'POST' }),
    ]) {
      const response = await attempt;
      expect(response.status).toBe(403);
      expect((await response.json()).error).toMatchObject({
        type: 'permission_error',
        message: `task ${id} belongs to another user`,
      });
    }
    expect((await app.tasks.get('demo', 'Count', id))!.status).toBe('running');
    const bobsList = await (await call(`${app.url}/v1/tasks`, BOB)).json();
    expect(bobsList.data).toEqual([]);
    const rootsList = await (await call(`${app.url}/v1/tasks`, ROOT)).json();
    expect(rootsList.data.map((t: { id: string }) => t.id)).toEqual([id]);
    const cancelled = await call(`${path}/cancel`, ROOT, { method: 'POST' });
    expect(await cancelled.json()).toEqual({ cancelled: true });
  });

  it('POST /v1/reset: admins only; every queued task is cancelled, running ones go on', async () => {
    const app = await start();
    app.tasks.define('test', 'Wait', async (_input, ctx) => ctx.stopped(), { concurrency: 1 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await call(`${app.url}/v1/tasks/test/Wait`, ALICE, {
        method: 'POST',
        body: '{}',
      });
      ids.push((await created.json()).id);
    }
    const refused = await call(`${app.url}/v1/reset`, ALICE, { method: 'POST' });
    expect(refused.status).toBe(403);
    const reset = await call(`${app.url}/v1/reset`, ROOT, { method: 'POST' });
    expect(await reset.json()).toEqual({ cancelled: 2 });
    const states = await Promise.all(ids.map((id) => app.tasks.get('test', 'Wait', id)));
    expect(states.map((t) => t!.status)).toEqual(['running', 'cancelled', 'cancelled']);
    expect(states[1]!.error).toBe('Cancelled by a queue reset (root)');
    expect(app.tasks.queue().queued).toEqual([]);
  });
});
