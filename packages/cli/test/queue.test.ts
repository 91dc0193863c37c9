import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '../../../test/support/wait.js';
import { Cli } from './support/cli.js';
import { total } from './support/metrics.js';
import { EXIT_MS, FAST, perTestDir, START_MS, urlOf, workerMetrics } from './support/serve.js';

const dir = perTestDir();

function serve(...args: string[]): Cli {
  return new Cli(['serve', '--data-dir', join(dir(), 'data'), ...FAST, ...args], { TMPDIR: dir() });
}

type Message = { type: string; request_id?: string } & Record<string, unknown>;

/** A `ws` client of /v1/ws that waits for messages rather than sleeping. */
async function connect(url: string) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`);
  const received: Message[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    received.push(JSON.parse(data.toString()) as Message);
    for (const wake of [...waiters]) wake();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const next = (predicate: (m: Message) => boolean, what: string) =>
    new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`waited for ${what}; got ${JSON.stringify(received.slice(-5))}`));
      }, START_MS);
      const check = () => {
        const found = received.find(predicate);
        if (found === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(found);
      };
      waiters.add(check);
      check();
    });
  return { ws, next, send: (message: unknown) => ws.send(JSON.stringify(message)) };
}

describe('andon serve: the request queue over WebSocket', () => {
  it('with --workers 1, an interrupt of llm/Complete stops it on the worker process and frees its slot', async () => {
    const server = serve('--workers', '1', '--ms-per-token', '20');
    const url = await urlOf(server);
    const [metrics] = workerMetrics(server);
    const client = await connect(url);
    client.send({
      type: 'submit',
      kind: 'llm/Complete',
      input: { prompt: 'hi', max_tokens: 4000 },
      request_id: 'on-worker',
    });
    expect(await client.next((m) => m.type === 'queued', 'queued')).toMatchObject({
      request_id: 'on-worker',
      position: 0,
    });
    await client.next((m) => m.type === 'progress', 'the first tokens');
    expect(await total([metrics!], 'andon_engine_slots_busy')).toBe(1);
    client.send({ type: 'interrupt', request_id: 'on-worker', context: 'generation' });
    expect(await client.next((m) => m.type === 'error', 'the answer')).toEqual({
      type: 'error',
      request_id: 'on-worker',
      error: 'Generation interrupted by user',
      context: 'generation',
    });
    expect(await client.next((m) => m.type === 'result', 'the result')).toMatchObject({
      status: 'cancelled',
      reason: { kind: 'stop', origin: 'interrupt' },
    });
    await waitFor(
      async () => (await total([metrics!], 'andon_engine_slots_busy')) === 0,
      'the worker to free its slot',
      { timeoutMs: 10_000, everyMs: 20 },
    );
    expect(
      await total([metrics!], 'andon_cancellations_total', { tier: 'engine', reason: 'stop' }),
    ).toBe(1);
    client.ws.close();
    server.child.kill('SIGTERM');
    expect((await server.exit(EXIT_MS)).code).toBe(0);
  });

  it('the embedded andon serve answers on /v1/ws and its dashboard shows the engine slots', async () => {
    const server = serve();
    const url = await urlOf(server);
    const client = await connect(url);
    client.send({ type: 'watch_dashboard' });
    const dashboard = await client.next((m) => m.type === 'dashboard', 'a dashboard');
    expect(dashboard.slots).toMatchObject({ busy: 0 });
    expect(await client.next((m) => m.type === 'queue_update', 'an update')).toMatchObject({
      queue_size: 0,
    });
    client.ws.close();
    server.child.kill('SIGTERM');
    expect((await server.exit(EXIT_MS)).code).toBe(0);
  });
});
