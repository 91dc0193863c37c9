import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CancelReason, Context } from '@andon/context';
import { Cancelled, Disconnected, NoInstances, Runtime } from '@andon/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { drain } from './support/drain.js';

let dir: string;
const runtimes: Runtime[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'andon-lifecycle-'));
});
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown({ graceMs: 0, stopGraceMs: 0 })));
  rmSync(dir, { recursive: true, force: true });
});

async function start(options: Parameters<typeof Runtime.start>[0] = {}): Promise<Runtime> {
  const rt = await Runtime.start({
    transport: 'tcp',
    discoveryDir: dir,
    heartbeatMs: 200,
    ...options,
  });
  runtimes.push(rt);
  return rt;
}

interface Observed {
  reasons: CancelReason[];
  kills: CancelReason[];
  /** Items the handler has yielded so far: tests wait on it instead of sleeping. */
  yielded: number;
}

/** Serves `n` items every `everyMs`; `obey` decides whether the handler honours a stop. */
async function serveTicker(rt: Runtime, obey: boolean): Promise<Observed> {
  const observed: Observed = { reasons: [], kills: [], yielded: 0 };
  await rt
    .namespace('life')
    .component('server')
    .endpoint('tick')
    .serve(async function* (request: unknown, ctx) {
      ctx.onStop((reason) => observed.reasons.push(reason));
      ctx.onKill((reason) => observed.kills.push(reason));
      const { n, everyMs } = request as { n: number; everyMs: number };
      for (let i = 0; i < n; i++) {
        if (obey && ctx.isStopped()) return;
        observed.yielded++;
        yield i;
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    });
  return observed;
}

describe('graceful shutdown', () => {
  it('in-flight streams finish within the grace period; new calls find no instance', async () => {
    const server = await start();
    const caller = await start();
    const observed = await serveTicker(server, true);
    const client = await caller.namespace('life').component('server').endpoint('tick').client();
    await client.waitForInstances();
    const running = drain(await client.generate({ n: 6, everyMs: 50 }));
    await waitFor(() => observed.yielded >= 2, 'the stream to be under way');
    const shutdown = server.shutdown({ graceMs: 3000 });
    const { items, error } = await running;
    expect(error).toBeUndefined();
    expect(items).toEqual([0, 1, 2, 3, 4, 5]);
    await shutdown;
    await waitFor(() => client.instances.length === 0, 'the caller to see the instance leave');
    await expect(client.generate({ n: 1, everyMs: 1 })).rejects.toBeInstanceOf(NoInstances);
  });

  it('after the grace period handlers are stopped (kind shutdown) and the caller learns the stream was cut', async () => {
    const server = await start();
    const caller = await start();
    const observed = await serveTicker(server, true);
    const client = await caller.namespace('life').component('server').endpoint('tick').client();
    await client.waitForInstances();
    const running = drain(await client.generate({ n: 1000, everyMs: 20 }));
    await waitFor(() => observed.yielded >= 3, 'the stream to be under way');
    await server.shutdown({ graceMs: 100, stopGraceMs: 1000 });
    const { items, error } = await running;
    expect(items.length).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(Cancelled);
    expect((error as Cancelled).reason.kind).toBe('shutdown');
    expect(observed.reasons.map((r) => r.kind)).toEqual(['shutdown']);
    expect(observed.kills).toEqual([]);
  });

  it('a handler that ignores the stop is killed after stopGraceMs', async () => {
    const server = await start();
    const caller = await start();
    const observed = await serveTicker(server, false);
    const client = await caller.namespace('life').component('server').endpoint('tick').client();
    await client.waitForInstances();
    const running = drain(await client.generate({ n: 1000, everyMs: 20 }));
    await waitFor(() => observed.yielded >= 3, 'the stream to be under way');
    const start_ = performance.now();
    await server.shutdown({ graceMs: 100, stopGraceMs: 200 });
    expect(performance.now() - start_).toBeLessThan(2000);
    const { error } = await running;
    expect(error).toBeInstanceOf(Cancelled);
    expect(observed.kills.length).toBe(1);
  });

  it('shutdown is idempotent and rejects new work with a clear error', async () => {
    const rt = await start();
    await Promise.all([rt.shutdown(), rt.shutdown()]);
    await expect(rt.namespace('life').component('x').endpoint('y').client()).rejects.toThrow(
      /shutting down/,
    );
  });
});

describe('discovery and in-flight calls', () => {
  it('an instance that leaves discovery without draining fails its in-flight calls at once', async () => {
    const server = await start();
    const caller = await start();
    await server
      .namespace('life')
      .component('server')
      .endpoint('hang')
      .serve(async () => new Promise(() => {}));
    const served = await server
      .namespace('life')
      .component('server')
      .endpoint('slow')
      .serve(async function* () {
        yield 'first';
        await new Promise(() => {});
      });
    const client = await caller.namespace('life').component('server').endpoint('slow').client();
    await client.waitForInstances();
    const ctx = new Context();
    const stream = await client.generate({}, { context: ctx });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe('first');
    const pending = iterator.next();
    const start_ = performance.now();
    await served.stop();
    await expect(pending).rejects.toBeInstanceOf(Disconnected);
    // File discovery polls every 250 ms; "at once" means on the leave, not on a timeout.
    expect(performance.now() - start_).toBeLessThan(1500);
    expect(stream.context.reason?.kind).toBe('disconnect');
    expect(ctx.isStopped()).toBe(false);
  });
});

describe('bad options', () => {
  it.each([
    [{ transport: 'carrier-pigeon' }, /options.transport must be/],
    [{ discovery: 'dns' }, /options.discovery must be/],
    [{ heartbeatMs: 0 }, /options.heartbeatMs must be a positive number/],
    [{ heartbeatMs: 400_000 }, /options.heartbeatMs must be at most 300000/],
    [{ window: 1.5 }, /options.window must be an integer/],
    [
      { missedHeartbeats: Number.NaN },
      /options.missedHeartbeats must be a positive number, got NaN/,
    ],
    [{ port: 70000 }, /options.port must be an integer 0-65535/],
    [{ token: '' }, /options.token must be a non-empty string/],
    [{ clock: Date }, /options.clock must be a Clock \(now, setTimer and clearTimer\)/],
  ])('Runtime.start(%j) throws a TypeError naming the option', async (options, message) => {
    await expect(Runtime.start(options as never)).rejects.toThrow(message);
    await expect(Runtime.start(options as never)).rejects.toBeInstanceOf(TypeError);
  });

  it('bad names and handlers are refused', async () => {
    const rt = await start();
    expect(() => rt.namespace('has space')).toThrow(TypeError);
    expect(() => rt.namespace('ok').component('../up')).toThrow(TypeError);
    await expect(
      rt
        .namespace('ok')
        .component('c')
        .endpoint('e')
        .serve('nope' as never),
    ).rejects.toThrow(TypeError);
    const client = await rt.namespace('ok').component('c').endpoint('e').client();
    await expect(client.generate({}, { context: 'ctx' as never })).rejects.toThrow(
      /options.context must be a Context/,
    );
  });
});

describe('handler shapes', () => {
  it('a handler whose promise resolves to a stream is streamed, not sent as one item', async () => {
    const server = await start();
    await server
      .namespace('life')
      .component('server')
      .endpoint('later')
      .serve(async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return (async function* () {
          yield 'a';
          yield 'b';
        })();
      });
    const client = await server.namespace('life').component('server').endpoint('later').client();
    await client.waitForInstances();
    expect((await drain(await client.generate({}))).items).toEqual(['a', 'b']);
  });
});

describe('propagateCancellation: false (for comparisons)', () => {
  it('a caller stop only detaches: the reader ends at once, the handler runs to its end unstopped', async () => {
    const server = await start();
    const caller = await start({ propagateCancellation: false });
    const observed = await serveTicker(server, true);
    let finished = false;
    await server
      .namespace('life')
      .component('server')
      .endpoint('count')
      .serve(async function* (_request, ctx) {
        ctx.onStop((reason) => observed.reasons.push(reason));
        for (let i = 0; i < 200; i++) yield i;
        finished = true;
      });
    const client = await caller.namespace('life').component('server').endpoint('count').client();
    await client.waitForInstances();
    const ctx = new Context();
    const { items } = await drain(
      (async function* () {
        for await (const item of await client.generate({}, { context: ctx })) {
          yield item;
          if (item === 2) ctx.stop();
        }
      })(),
    );
    expect(items.length).toBeLessThan(200);
    // Far beyond one credit window: the detached caller kept granting credit. The items
    // reach the caller after the handler made them, so wait for the count itself.
    await waitFor(
      () => finished && caller.stats().itemsDroppedAfterDetach > 150,
      'the detached handler to run to its end, its items dropped by the caller',
    );
    expect(observed.reasons).toEqual([]);
  });
});
