import { TaskManager } from '@andon/tasks';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '../../../test/support/wait.js';
import { OpenAIServer, SimulatedEngine } from '../src/index.js';
import { startApp } from './helpers.js';
import { apiKeys, KEYS, type QueueApp, startQueueApp } from './support/queue-app.js';
import { QueueClient, type Received } from './support/queue-client.js';

const apps: QueueApp[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(options: Parameters<typeof startQueueApp>[0] = {}): Promise<QueueApp> {
  const app = await startQueueApp(options);
  apps.push(app);
  return app;
}

async function submit(client: QueueClient, kind: string, input: unknown, requestId?: string) {
  client.send({ type: 'submit', kind, input, ...(requestId ? { request_id: requestId } : {}) });
  return client.next(
    (m) => m.type === 'queued' || (m.type === 'error' && m.request_id === requestId),
    `the answer to the submit of ${kind}`,
  );
}

/** The next queue_update whose queued_ids satisfy `predicate`. */
function updateWhere(client: QueueClient, predicate: (ids: string[]) => boolean, what: string) {
  return client.next((m) => m.type === 'queue_update' && predicate(m.queued_ids as string[]), what);
}

describe('the request queue over WebSocket', () => {
  it('queues in order with one slot: positions, queue_update, status, progress and results pushed', async () => {
    const app = await start();
    const client = await app.socket();
    const first = await submit(client, 'test/Gate', null, 'first');
    expect(first).toEqual({ type: 'queued', request_id: 'first', kind: 'test/Gate', position: 0 });
    expect(await client.nextOf('status', 'first')).toMatchObject({ status: 'running' });
    const second = await submit(client, 'test/Gate', null);
    const third = await submit(client, 'test/Gate', null);
    expect(second.position).toBe(1);
    expect(third.position).toBe(2);
    expect(second.request_id).toMatch(/^[0-9a-f-]{36}$/);
    const update = await updateWhere(client, (ids) => ids.length === 2, 'both waiting');
    expect(update).toEqual({
      type: 'queue_update',
      queue_size: 2,
      processing: 1,
      queued_ids: [second.request_id, third.request_id],
    });
    expect(await client.nextOf('progress', 'first')).toMatchObject({
      seq: 1,
      event: 'progress',
      data: { phase: 'started' },
    });
    app.release();
    expect(await client.nextOf('result', 'first')).toEqual({
      type: 'result',
      request_id: 'first',
      status: 'completed',
      final_value: 'released',
    });
    await client.nextOf('status', second.request_id);
    await updateWhere(client, (ids) => ids.join() === third.request_id, 'the third alone waiting');
    app.release();
    await client.nextOf('result', second.request_id);
    await client.nextOf('status', third.request_id);
    app.release();
    await client.nextOf('result', third.request_id);
    // The same request through HTTP: a request id is a task id.
    const task = await (await fetch(`${app.url}/v1/tasks/test/Gate/first`)).json();
    expect(task).toMatchObject({ status: 'completed', final_value: 'released' });
  });

  it('cancel_request of a queued request takes it out of queued_ids in the next update', async () => {
    const app = await start();
    const client = await app.socket();
    await submit(client, 'test/Gate', null, 'running');
    await submit(client, 'test/Gate', null, 'waiting');
    await submit(client, 'test/Gate', null, 'last');
    await updateWhere(client, (ids) => ids.length === 2, 'two waiting');
    const answer = await client.ask(
      { type: 'cancel_request', request_id: 'waiting' },
      'request_cancelled',
    );
    expect(answer).toEqual({ type: 'request_cancelled', request_id: 'waiting' });
    const next = await client.nextOf('queue_update', undefined, undefined, client.mark(answer));
    expect(next.queued_ids).toEqual(['last']);
    expect(next.queue_size).toBe(1);
    expect(await client.nextOf('result', 'waiting')).toMatchObject({
      status: 'cancelled',
      error: 'Cancelled by user',
      reason: { kind: 'stop', message: 'Cancelled by user' },
    });
    expect(await app.tasks.find('waiting')).toMatchObject({
      status: 'cancelled',
      error: 'Cancelled by user',
    });
    // interrupt of a queued one is a cancel, answered as one.
    const asCancel = await client.ask(
      { type: 'interrupt', request_id: 'last', context: 'analysis' },
      'request_cancelled',
    );
    expect(asCancel).toEqual({ type: 'request_cancelled', request_id: 'last' });
    const after = await client.nextOf('queue_update', undefined, undefined, client.mark(asCancel));
    expect(after.queued_ids).toEqual([]);
  });

  it('interrupt of a running llm/Complete stops it at once, frees the engine slot, and tells the owner', async () => {
    const app = await start();
    const client = await app.socket();
    await submit(client, 'llm/Complete', { prompt: 'hi', max_tokens: 4000 }, 'gen');
    await client.nextOf('progress', 'gen');
    expect(app.engine.stats().slotsBusy).toBe(1);
    const answer = await client.ask(
      { type: 'interrupt', request_id: 'gen', context: 'analysis' },
      'error',
    );
    expect(answer).toEqual({
      type: 'error',
      request_id: 'gen',
      error: 'Analysis interrupted by user',
      context: 'analysis',
    });
    const result = await client.nextOf('result', 'gen');
    expect(result).toMatchObject({
      status: 'cancelled',
      error: 'Analysis interrupted by user',
      reason: { kind: 'stop', origin: 'interrupt' },
    });
    await waitFor(() => app.engine.stats().slotsBusy === 0, 'the engine slot to be freed', 5_000);
    expect(app.engine.stats().cancelled.stop).toBe(1);
    // cancel_request of a running one is an interrupt with context "generation".
    await submit(client, 'llm/Complete', { prompt: 'hi', max_tokens: 4000 }, 'gen2');
    await client.nextOf('progress', 'gen2');
    expect(await client.ask({ type: 'cancel_request', request_id: 'gen2' }, 'error')).toEqual({
      type: 'error',
      request_id: 'gen2',
      error: 'Generation interrupted by user',
      context: 'generation',
    });
    await waitFor(() => app.engine.stats().slotsBusy === 0, 'the second slot to be freed', 5_000);
  });

  it('cancel or interrupt of a finished request changes nothing and says it is finished; unknown ids too', async () => {
    const app = await start();
    const client = await app.socket();
    await submit(client, 'demo/Count', { n: 1, intervalMs: 0 }, 'done');
    await client.nextOf('result', 'done');
    for (const message of [
      { type: 'cancel_request', request_id: 'done' },
      { type: 'interrupt', request_id: 'done', context: 'generation' },
    ]) {
      expect(await client.ask(message, 'error')).toEqual({
        type: 'error',
        request_id: 'done',
        error: 'request done is already finished (completed)',
      });
    }
    expect(await app.tasks.find('done')).toMatchObject({ status: 'completed' });
    const unknown = await client.ask({ type: 'cancel_request', request_id: 'nope' }, 'error');
    expect(unknown.error).toMatch(/^no request nope\b/);
  });

  it("another user's cancel is refused and the request unharmed; queue_update shows them only counts", async () => {
    const app = await start({ apiKeys: apiKeys() });
    const alice = await app.socket(KEYS.alice);
    const bob = await app.socket(KEYS.bob);
    const root = await app.socket(KEYS.root);
    await submit(alice, 'test/Gate', null, 'a-run');
    await submit(alice, 'test/Gate', null, 'a-wait');
    for (const message of [
      { type: 'cancel_request', request_id: 'a-wait' },
      { type: 'interrupt', request_id: 'a-run', context: 'analysis' },
      { type: 'cancel_request', request_id: 'a-run' },
    ]) {
      const refused = await bob.ask(message, 'error');
      expect(refused.error).toBe(`request ${message.request_id} belongs to another user`);
    }
    const status = await bob.ask({ type: 'status', request_ids: ['a-run'] }, 'error');
    expect(status.error).toBe('request a-run belongs to another user');
    expect((await app.tasks.find('a-run'))?.status).toBe('running');
    expect((await app.tasks.find('a-wait'))?.status).toBe('queued');
    const bobs = await bob.next(
      (m) => m.type === 'queue_update' && m.queue_size === 1,
      "an update for bob with alice's waiting request",
    );
    expect(bobs).toMatchObject({ queue_size: 1, processing: 1, queued_ids: [] });
    const roots = await updateWhere(root, (ids) => ids.length === 1, 'an update for root');
    expect(roots).toMatchObject({ queue_size: 1, processing: 1, queued_ids: ['a-wait'] });
    // An admin may.
    expect(await root.ask({ type: 'cancel_request', request_id: 'a-wait' }, 'request_cancelled'));
    expect(await alice.nextOf('result', 'a-wait')).toMatchObject({ status: 'cancelled' });
    expect(await root.ask({ type: 'status', request_ids: ['a-run'] }, 'requests')).toMatchObject({
      requests: [{ request_id: 'a-run', status: 'running', kind: 'test/Gate' }],
    });
    // HTTP agrees about the owner.
    const foreign = await fetch(`${app.url}/v1/tasks/test/Gate/a-run`, {
      headers: { authorization: `Bearer ${KEYS.bob}` },
    });
    expect(foreign.status).toBe(403);
  });

  it('an admin POST /v1/reset cancels every queued request and the owners hear of it', async () => {
    const app = await start({ apiKeys: apiKeys() });
    const alice = await app.socket(KEYS.alice);
    const bob = await app.socket(KEYS.bob);
    await submit(alice, 'test/Gate', null, 'r-run');
    await submit(alice, 'test/Gate', null, 'r-a');
    await submit(bob, 'test/Gate', null, 'r-b');
    const refused = await fetch(`${app.url}/v1/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.bob}` },
    });
    expect(refused.status).toBe(403);
    const reset = await fetch(`${app.url}/v1/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.root}` },
    });
    expect(await reset.json()).toEqual({ cancelled: 2 });
    expect(await alice.nextOf('result', 'r-a')).toMatchObject({ status: 'cancelled' });
    expect(await bob.nextOf('result', 'r-b')).toMatchObject({ status: 'cancelled' });
    await updateWhere(alice, (ids) => ids.length === 0, 'an empty queue');
    expect(app.tasks.queue().queued).toEqual([]);
    expect((await app.tasks.find('r-run'))?.status).toBe('running');
  });

  it('answers malformed and unknown messages with an error naming the problem, and stays open', async () => {
    const app = await start();
    const client = await app.socket();
    const cases: [unknown, RegExp][] = [
      ['{not json', /not valid JSON/],
      ['[1,2]', /must be a JSON object/],
      [{ kind: 'x' }, /must have a "type"/],
      [{ type: 'dance' }, /unknown message type "dance"; expected one of auth, submit/],
      [{ type: 'cancel_request' }, /cancel_request needs "request_id"/],
      [{ type: 'interrupt', request_id: 'x', context: 'cooking' }, /interrupt needs "context"/],
      [{ type: 'submit', input: {} }, /submit needs "kind"/],
      [{ type: 'submit', kind: 'demo/Count' }, /submit needs "input"/],
      [{ type: 'status', request_ids: 'x' }, /status needs "request_ids"/],
      [{ type: 'submit', kind: 'demo/Nope', input: {} }, /no task kind demo\/Nope/],
      [{ type: 'submit', kind: 'demo/Count', input: { n: -1 } }, /demo\/Count refused the input/],
      [
        { type: 'submit', kind: 'demo/Count', input: {}, request_id: 'bad id' },
        /request_id must be/,
      ],
    ];
    for (const [message, error] of cases) {
      client.send(message);
      const answer = await client.nextOf('error');
      expect(answer.error, JSON.stringify(message)).toMatch(error);
    }
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.nextOf('error')).error).toMatch(/text frames/);
    // A refused submit carries the id the client chose.
    client.send({ type: 'submit', kind: 'demo/Nope', input: {}, request_id: 'mine' });
    expect((await client.nextOf('error', 'mine')).error).toMatch(/no task kind/);
    expect(await client.ask({ type: 'status' }, 'requests')).toMatchObject({ requests: [] });
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a socket that drops mid-stream cancels nothing; reconnecting and asking status resumes the pushes', async () => {
    const app = await start();
    const first = await app.socket();
    await submit(first, 'demo/Count', { n: 40, intervalMs: 25 }, 'long');
    await first.nextOf('progress', 'long');
    first.terminate();
    await first.closed;
    const again = await app.socket();
    const { requests } = await again.ask({ type: 'status' }, 'requests');
    const [state] = requests as Received[];
    expect(state).toMatchObject({ request_id: 'long', kind: 'demo/Count', status: 'running' });
    const lastSeq = state!.last_seq as number;
    const progress = await again.nextOf('progress', 'long');
    expect(progress.seq).toBe(lastSeq + 1);
    expect(await again.nextOf('result', 'long', 20_000)).toMatchObject({
      status: 'completed',
      final_value: { counted: 40 },
    });
    // Every event came once and in order after the status.
    const seqs = again.received.filter((m) => m.type === 'progress').map((m) => m.seq as number);
    expect(seqs).toEqual(Array.from({ length: 40 - lastSeq }, (_, i) => lastSeq + 1 + i));
  });

  it('200 sockets at once all get queue_update, also after a change', async () => {
    const app = await start();
    const clients = await Promise.all(Array.from({ length: 200 }, () => app.socket()));
    await Promise.all(clients.map((c) => c.nextOf('queue_update')));
    await submit(clients[0]!, 'test/Gate', null, 'g1');
    await submit(clients[0]!, 'test/Gate', null, 'g2');
    await Promise.all(
      clients.map((c) => updateWhere(c, (ids) => ids.includes('g2'), 'g2 waiting')),
    );
    app.release();
  }, 60_000);

  it('with API keys: no auth, a wrong key or none within the timeout closes with 4401 and a reason', async () => {
    const app = await start({ apiKeys: apiKeys(), webSocket: { authTimeoutMs: 200 } });
    const noAuth = await new QueueClient(app.url).open();
    noAuth.send({ type: 'status' });
    expect(await noAuth.closed).toEqual({
      code: 4401,
      reason: 'the first message must be {"type":"auth","api_key":KEY}',
    });
    const wrong = await new QueueClient(app.url).open();
    wrong.send({ type: 'auth', api_key: 'sk-wrong-0123456789abcdef' });
    expect(await wrong.closed).toEqual({ code: 4401, reason: 'the API key is not valid' });
    const silent = await new QueueClient(app.url).open();
    expect(await silent.closed).toEqual({ code: 4401, reason: 'no auth message within 0.2 s' });
    expect(silent.received).toEqual([]);
    const alice = await app.socket(KEYS.alice);
    expect(alice.received[0]).toEqual({ type: 'authenticated', user: 'alice', admin: false });
    // Without keys an auth is answered too.
    const open = await start();
    const anyone = await open.socket();
    expect(await anyone.ask({ type: 'auth', api_key: 'whatever' }, 'authenticated')).toEqual({
      type: 'authenticated',
      user: 'anonymous',
      admin: true,
    });
  });

  it('refuses other paths (404) and pages of other origins (403); a server without tasks has no WebSocket', async () => {
    const app = await start();
    const statusOf = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
        });
        ws.on('error', () => {});
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
      });
    const base = app.url.replace('http', 'ws');
    expect(await statusOf(`${base}/v1/other`)).toBe(404);
    expect(await statusOf(`${base}/v1/ws`, { origin: 'http://evil.example' })).toBe(403);
    expect(await statusOf(`${base}/v1/ws`, { origin: app.url })).toBe(101);
    const noTasks = await startApp();
    try {
      expect(await statusOf(`${noTasks.url.replace('http', 'ws')}/v1/ws`)).toBe(404);
    } finally {
      await noTasks.close();
    }
  });

  it('watch_dashboard: queued, running and finished rows, in-flight completions, slots, every second', async () => {
    const app = await start({ webSocket: { dashboardIntervalMs: 100 } });
    const client = await app.socket();
    await submit(client, 'test/Gate', null, 'd-run');
    await client.nextOf('progress', 'd-run');
    await submit(client, 'test/Gate', null, 'd-wait');
    await submit(client, 'demo/Count', { n: 1, intervalMs: 0 }, 'd-done');
    await client.nextOf('result', 'd-done');
    const controller = new AbortController();
    const completion = fetch(`${app.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'andon-sim', prompt: 'x', stream: true, max_tokens: 4000 }),
      signal: controller.signal,
    });
    const response = await completion;
    client.send({ type: 'watch_dashboard' });
    const dashboard = await client.next(
      (m) => m.type === 'dashboard' && (m.completions as unknown[]).length === 1,
      'a dashboard with the completion',
    );
    expect(dashboard).toMatchObject({
      queue_size: 1,
      processing: 1,
      queued: [{ request_id: 'd-wait', status: 'queued', position: 1, owner: 'anonymous' }],
      running: [{ request_id: 'd-run', status: 'running', progress: { phase: 'started' } }],
      finished: [{ request_id: 'd-done', status: 'completed', progress: { step: 1, of: 1 } }],
      completions: [{ model: 'andon-sim', stream: true, owner: 'anonymous' }],
      slots: { busy: 1, total: 2 },
    });
    expect(Date.parse(dashboard.at as string)).toBeGreaterThan(0);
    // And again a tick later.
    await client.nextOf('dashboard');
    controller.abort();
    await response.body?.cancel().catch(() => {});
    await client.next(
      (m) => m.type === 'dashboard' && (m.cancellations_per_second as number) > 0,
      'a cancellation counted',
    );
    app.release();
  });

  it('a client that stops reading is closed (1013) once its unsent messages pass the bound', async () => {
    const app = await start({
      webSocket: { maxBufferedBytes: 64 * 1024, dashboardIntervalMs: 1 },
    });
    for (let i = 0; i < 20; i++) await app.tasks.create('demo', 'Count', { n: 1, intervalMs: 0 });
    const slow = await app.socket();
    slow.send({ type: 'watch_dashboard' });
    await slow.nextOf('dashboard');
    slow.ws.pause();
    await waitFor(
      () => app.logs.find((line) => line.code === 1013) !== undefined,
      'the server to close the slow socket',
      30_000,
    );
    slow.ws.resume();
    expect([1013, 1006]).toContain((await slow.closed).code);
    // Others are not affected.
    const other = await app.socket();
    await other.nextOf('queue_update');
  }, 60_000);

  it('close() of the server closes every socket with 1001 and leaves no timer, socket or subscription', async () => {
    const count = (kind: string) =>
      process.getActiveResourcesInfo().filter((name) => name === kind).length;
    const before = { timers: count('Timeout'), immediates: count('Immediate') };
    const app = await startQueueApp({ apiKeys: apiKeys(), webSocket: { authTimeoutMs: 60_000 } });
    expect(app.liveChangeListeners()).toBe(1);
    const alice = await app.socket(KEYS.alice);
    const watcher = await app.socket(KEYS.root);
    watcher.send({ type: 'watch_dashboard' });
    await watcher.nextOf('dashboard');
    const pending = await new QueueClient(app.url).open(); // never authenticates
    await submit(alice, 'test/Gate', null, 'c-run');
    await submit(alice, 'test/Gate', null, 'c-wait');
    await alice.nextOf('progress', 'c-run');
    await app.close();
    for (const client of [alice, watcher, pending]) {
      expect((await client.closed).code).toBe(1001);
    }
    expect(await alice.nextOf('result', 'c-run')).toMatchObject({
      status: 'cancelled',
      reason: { kind: 'shutdown' },
    });
    expect(count('Timeout')).toBeLessThanOrEqual(before.timers);
    expect(count('Immediate')).toBeLessThanOrEqual(before.immediates);
    expect(app.liveChangeListeners()).toBe(0);
  });
});

describe('the queue options', () => {
  it('refuses a value that is not a number > 0 with a TypeError naming the option and the value', async () => {
    const tasks = await TaskManager.open();
    const engine = new SimulatedEngine();
    try {
      for (const [webSocket, message] of [
        [{ maxFollowed: 0 }, 'OpenAIServer: webSocket.maxFollowed must be a number > 0, got 0'],
        [
          { authTimeoutMs: '5' },
          'OpenAIServer: webSocket.authTimeoutMs must be a number > 0, got "5"',
        ],
      ] as const) {
        const attempt = () =>
          new OpenAIServer({ backend: engine, tasks, webSocket: webSocket as never });
        expect(attempt).toThrow(TypeError);
        expect(attempt).toThrow(message);
      }
    } finally {
      engine.close();
      await tasks.shutdown();
    }
  });
});
