import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from '@andon/context';
import { TaskManager, type TaskManagerOptions } from '@andon/tasks';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { defineBuiltinKinds } from '../src/index.js';
import { metric, startApp, type TestApp } from './helpers.js';
import { TaskWatcher } from './support/task-watcher.js';

interface TasksApp extends TestApp {
  tasks: TaskManager;
  /** Releases every task of kind test/Gate. */
  release(): void;
}

const apps: TasksApp[] = [];
const watchers: TaskWatcher[] = [];
const servers: Server[] = [];

afterEach(async () => {
  for (const watcher of watchers.splice(0)) watcher.close();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

async function start(options: TaskManagerOptions = {}): Promise<TasksApp> {
  const tasks = await TaskManager.open(options);
  const app = await startApp({ tasks, heartbeatMs: 50 });
  defineBuiltinKinds(tasks, { backend: app.engine });
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  tasks.define(
    'test',
    'Gate',
    async function* (_input: unknown, ctx: Context) {
      yield { phase: 'started' };
      await Promise.race([gate, ctx.stopped()]);
      return 'released';
    },
    { concurrency: 1, maxQueued: 2 },
  );
  const tasksApp = Object.assign(app, { tasks, release: open });
  apps.push(tasksApp);
  return tasksApp;
}

function watch(url: string): TaskWatcher {
  const watcher = new TaskWatcher(url);
  watchers.push(watcher);
  return watcher;
}

async function post(url: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}

async function create(app: TasksApp, kind: string, input: unknown): Promise<string> {
  const created = await post(`${app.url}/v1/tasks/${kind}`, input);
  expect(created.status).toBe(201);
  return created.body.id as string;
}

describe('tasks over HTTP', () => {
  it('creates, shows and lists a task, and streams its events to the end with ids and names', async () => {
    const app = await start();
    const created = await post(`${app.url}/v1/tasks/demo/Count`, { n: 3, intervalMs: 1 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      object: 'task',
      app: 'demo',
      model: 'Count',
      status: 'queued',
    });
    expect(created.headers.get('location')).toBe(`/v1/tasks/demo/Count/${created.body.id}`);
    const watcher = watch(`${app.url}/v1/tasks/demo/Count/${created.body.id}/events`);
    expect(await watcher.closed).toBe(204);
    expect(watcher.events.map((e) => [e.id, e.type])).toEqual([
      ['1', 'progress'],
      ['2', 'progress'],
      ['3', 'progress'],
      ['4', 'complete'],
    ]);
    expect(watcher.events[3]!.data).toEqual({ final_value: { counted: 3 } });
    const shown = await (await fetch(`${app.url}/v1/tasks/demo/Count/${created.body.id}`)).json();
    expect(shown).toMatchObject({ status: 'completed', final_value: { counted: 3 }, last_seq: 4 });
    expect(Date.parse(shown.finished_at)).toBeGreaterThanOrEqual(Date.parse(shown.created_at));
    const byId = await (await fetch(`${app.url}/v1/tasks/${created.body.id}`)).json();
    expect(byId).toEqual(shown);
    const list = await (await fetch(`${app.url}/v1/tasks?status=completed`)).json();
    expect(list.data.map((t: { id: string }) => t.id)).toEqual([created.body.id]);
    const none = await (await fetch(`${app.url}/v1/tasks?status=running,queued`)).json();
    expect(none.data).toEqual([]);
  });

  it('a cancel reaches three EventSource clients with one cancelled event each, and every stream closes', async () => {
    const app = await start();
    const id = await create(app, 'test/Gate', null);
    const clients = [1, 2, 3].map(() => watch(`${app.url}/v1/tasks/test/Gate/${id}/events`));
    await Promise.all(clients.map((c) => c.until((e) => e.type === 'progress')));
    const cancel = await post(`${app.url}/v1/tasks/test/Gate/${id}/cancel`, {
      reason: 'user pressed stop',
    });
    expect(cancel).toMatchObject({ status: 200, body: { cancelled: true } });
    for (const client of clients) {
      expect(await client.closed).toBe(204);
      expect(client.terminals).toEqual([
        {
          type: 'cancelled',
          id: '2',
          data: {
            message: 'user pressed stop',
            reason: expect.objectContaining({ kind: 'stop', message: 'user pressed stop' }),
          },
        },
      ]);
    }
  });

  it('cancel answers false for a finished task and a second cancel, 404 for an unknown one', async () => {
    const app = await start();
    const id = await create(app, 'test/Gate', null);
    expect((await post(`${app.url}/v1/tasks/test/Gate/${id}/cancel`)).body).toEqual({
      cancelled: true,
    });
    expect((await post(`${app.url}/v1/tasks/test/Gate/${id}/cancel`)).body).toEqual({
      cancelled: false,
    });
    const missing = await post(`${app.url}/v1/tasks/test/Gate/nope/cancel`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/no task test\/Gate\/nope/);
    const done = await create(app, 'demo/Count', { n: 1, intervalMs: 0 });
    await watch(`${app.url}/v1/tasks/demo/Count/${done}/events`).closed;
    expect((await post(`${app.url}/v1/tasks/demo/Count/${done}/cancel`)).body).toEqual({
      cancelled: false,
    });
  });

  it('a late joiner and a Last-Event-ID reconnect miss nothing; a reconnect after the end gets 204', async () => {
    const app = await start();
    const id = await create(app, 'demo/Count', { n: 5, intervalMs: 1 });
    await watch(`${app.url}/stream/demo/Count/${id}`).closed;
    const late = watch(`${app.url}/stream/demo/Count/${id}`);
    expect(await late.closed).toBe(204);
    expect(late.events.map((e) => e.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    const resumed = await fetch(`${app.url}/v1/tasks/demo/Count/${id}/events`, {
      headers: { 'last-event-id': '3' },
    });
    const text = await resumed.text();
    expect([...text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1])).toEqual(['4', '5', '6']);
    const after = await fetch(`${app.url}/v1/tasks/demo/Count/${id}/events?after=6`);
    expect(after.status).toBe(204);
    const bad = await fetch(`${app.url}/v1/tasks/demo/Count/${id}/events`, {
      headers: { 'last-event-id': 'yesterday' },
    });
    expect(bad.status).toBe(400);
  });

  it('drops a watcher that falls behind with a lagged event; the EventSource resumes and misses nothing', async () => {
    const app = await start({ watchBufferSize: 4 });
    let go!: () => void;
    const started = new Promise<void>((resolve) => {
      go = resolve;
    });
    app.tasks.define('test', 'Burst', async (_input, _ctx, task) => {
      await task.emit('progress', { i: 1 });
      await started;
      // Emitted in one go: far more than a watcher's buffer of 4 before it can write one.
      for (let i = 2; i <= 40; i++) void task.emit('progress', { i });
      return 'done';
    });
    const id = await create(app, 'test/Burst', null);
    const watcher = watch(`${app.url}/v1/tasks/test/Burst/${id}/events`);
    await watcher.until((e) => e.type === 'progress');
    go();
    expect(await watcher.closed).toBe(204);
    const lagged = watcher.events.filter((e) => e.type === 'lagged');
    expect(lagged.length).toBeGreaterThanOrEqual(1);
    expect(lagged[0]!.data).toMatchObject({ resume_after: expect.any(Number) });
    const ids = watcher.events.filter((e) => e.type !== 'lagged').map((e) => Number(e.id));
    expect(ids).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
  });

  it('sends comment heartbeats on an idle stream', async () => {
    const app = await start();
    const id = await create(app, 'test/Gate', null);
    const controller = new AbortController();
    const response = await fetch(`${app.url}/v1/tasks/test/Gate/${id}/events`, {
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes(': keep-alive')) {
      const read = await reader.read();
      if (read.done) break;
      text += decoder.decode(read.value);
    }
    controller.abort();
    expect(text).toMatch(/event: progress[\s\S]*: keep-alive/);
  });

  it('a watcher that leaves stops watching: the task runs on, and no cancellation is counted', async () => {
    const app = await start();
    const id = await create(app, 'test/Gate', null);
    const watcher = watch(`${app.url}/v1/tasks/test/Gate/${id}/events`);
    await watcher.until((e) => e.type === 'progress');
    watcher.close();
    await waitFor(() => app.server.inFlight === 0, 'the event stream to end');
    expect(
      await metric(app.url, 'andon_cancellations_total', {
        tier: 'frontend',
        reason: 'disconnect',
      }),
    ).toBe(0);
    expect((await app.tasks.get('test', 'Gate', id))!.status).toBe('running');
  });

  it('answers bad requests with a clear status and message', async () => {
    const app = await start();
    const unknown = await post(`${app.url}/v1/tasks/demo/Nope`, {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe('no task kind demo/Nope is defined');
    const malformed = await post(`${app.url}/v1/tasks/demo/Count`, '{"n": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
    const refused = await post(`${app.url}/v1/tasks/demo/Count`, { n: 'ten' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe(
      'demo/Count refused the input: n must be a whole number from 1 to 1000000, got "ten"',
    );
    const notJson = await post(`${app.url}/v1/tasks/demo/Count`, '{}', {
      'content-type': 'text/plain',
    });
    expect(notJson.status).toBe(415);
    const badUrl = await post(`${app.url}/v1/tasks/demo/Fetch`, { url: 'file:///etc/passwd' });
    expect(badUrl.status).toBe(400);
    expect((await fetch(`${app.url}/v1/tasks/demo/Count`)).status).toBe(405);
    expect((await fetch(`${app.url}/v1/tasks/demo/Count/nope/events`)).status).toBe(404);
    expect((await fetch(`${app.url}/v1/tasks?status=sleeping`)).status).toBe(400);
  });

  it('a manager that is shutting down answers 503 with Retry-After', async () => {
    const app = await start();
    await app.tasks.shutdown({ graceMs: 0 });
    const refused = await post(`${app.url}/v1/tasks/demo/Count`, { n: 1 });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.error.message).toMatch(/shutting down and takes no new tasks/);
  });

  it('a full queue gets 429 with Retry-After', async () => {
    const app = await start();
    await create(app, 'test/Gate', null); // runs (one slot)
    await create(app, 'test/Gate', null); // waits
    await create(app, 'test/Gate', null); // waits (maxQueued 2)
    const full = await post(`${app.url}/v1/tasks/test/Gate`, null);
    expect(full.status).toBe(429);
    expect(full.headers.get('retry-after')).toBe('1');
    expect(full.body.error.message).toMatch(/queue of test\/Gate is full/);
  });

  it('closing the server gives every open stream its cancelled event (kind shutdown), then 503 for new tasks', async () => {
    const app = await start();
    const id = await create(app, 'test/Gate', null);
    const clients = [1, 2].map(() => watch(`${app.url}/v1/tasks/test/Gate/${id}/events`));
    await Promise.all(clients.map((c) => c.until((e) => e.type === 'progress')));
    const closing = app.close();
    for (const client of clients) {
      const end = await client.until((e) => e.type === 'cancelled');
      expect(end.data).toMatchObject({ reason: { kind: 'shutdown' } });
    }
    await closing;
    await expect(app.tasks.create('test', 'Gate', null)).rejects.toThrow(/shutting down/);
    apps.splice(apps.indexOf(app), 1);
  });

  it('llm/Complete streams tokens as progress, and a cancel frees the engine slot', async () => {
    const app = await start();
    const done = await create(app, 'llm/Complete', { prompt: 'Hello', max_tokens: 8 });
    const finished = watch(`${app.url}/v1/tasks/llm/Complete/${done}/events`);
    await finished.closed;
    const final = finished.terminals[0]!;
    expect(final.type).toBe('complete');
    expect(final.data.final_value).toMatchObject({
      usage: { completion_tokens: expect.any(Number) },
    });
    expect(finished.events.filter((e) => e.type === 'progress').length).toBeGreaterThan(0);

    const id = await create(app, 'llm/Complete', { prompt: 'Hello', max_tokens: 4000 });
    const watcher = watch(`${app.url}/v1/tasks/llm/Complete/${id}/events`);
    await watcher.until((e) => e.type === 'progress');
    expect(app.engine.stats().slotsBusy).toBe(1);
    await post(`${app.url}/v1/tasks/llm/Complete/${id}/cancel`);
    await watcher.until((e) => e.type === 'cancelled');
    await waitFor(() => app.engine.stats().slotsBusy === 0, 'the engine slot to be freed');
    expect(app.engine.stats().cancelled.stop).toBe(1);
  });

  it('demo/Fetch cancelled mid-download closes the HTTP connection to the origin', async () => {
    let sent = 0;
    let resolveClosed!: () => void;
    const originClosed = new Promise<void>((resolve) => {
      resolveClosed = resolve;
    });
    const origin = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const timer = setInterval(() => {
        res.write(Buffer.alloc(32 * 1024));
        sent++;
      }, 5);
      res.on('close', () => {
        clearInterval(timer);
        resolveClosed();
      });
    });
    servers.push(origin);
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const { port } = origin.address() as AddressInfo;
    const app = await start();
    const id = await create(app, 'demo/Fetch', { url: `http://127.0.0.1:${port}/big` });
    const watcher = watch(`${app.url}/v1/tasks/demo/Fetch/${id}/events`);
    await watcher.until((e) => e.type === 'progress');
    expect(watcher.events[0]).toMatchObject({
      type: 'start',
      data: { url: `http://127.0.0.1:${port}/big` },
    });
    await post(`${app.url}/v1/tasks/demo/Fetch/${id}/cancel`);
    await originClosed;
    const sentAtClose = sent;
    expect(watcher.terminals.map((e) => e.type)).toEqual(['cancelled']);
    expect(sentAtClose).toBeGreaterThan(0);
  });
});
