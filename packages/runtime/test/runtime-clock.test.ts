import { type Context, TestClock } from '@andon/context';
import {
  DeadlineExceeded,
  Disconnected,
  MemoryDiscovery,
  MemoryDiscoveryHub,
  MemoryTransport,
  Runtime,
} from '@andon/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred } from '../../../test/support/wait.js';
import { drain } from './support/drain.js';

// Heartbeats on a TestClock: time moves only when the test says so, so these tests assert
// the exact schedule (pings, missed intervals, the handshake timeout) without waiting.

const HEARTBEAT_MS = 1000;
const runtimes: Runtime[] = [];

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown({ graceMs: 0, stopGraceMs: 0 })));
});

/** Lets every frame already written reach the other side (the memory transport delivers in microtasks). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Advances `clock` by `ms` a quarter heartbeat at a time, letting frames travel in between. */
async function advance(clock: TestClock, ms: number): Promise<void> {
  for (let moved = 0; moved < ms; moved += HEARTBEAT_MS / 4) {
    clock.advance(Math.min(HEARTBEAT_MS / 4, ms - moved));
    await settle();
  }
}

async function network(heartbeatMs = HEARTBEAT_MS) {
  const clock = new TestClock(Date.parse('2030-01-01T00:00:00Z'));
  const hub = new MemoryDiscoveryHub();
  const options = { transport: 'memory' as const, heartbeatMs, clock };
  const server = await Runtime.start({ ...options, discovery: new MemoryDiscovery({ hub }) });
  const caller = await Runtime.start({ ...options, discovery: new MemoryDiscovery({ hub }) });
  runtimes.push(server, caller);
  const handlerContext = deferred<Context>();
  const component = server.namespace('beat').component('server');
  await component.endpoint('hang').serve((_request, ctx) => {
    handlerContext.resolve(ctx);
    return new Promise(() => {});
  });
  await component.endpoint('echo').serve(async function* (request: unknown) {
    yield request;
  });
  const client = (name: string) =>
    caller.namespace('beat').component('server').endpoint(name).client();
  return { clock, server, caller, client, handlerContext: handlerContext.promise };
}

describe('heartbeats, timed by the runtime clock', () => {
  it('a silent peer is lost after its missed heartbeats (3 intervals, found within ½ more), not before', async () => {
    const { clock, server, client, handlerContext } = await network();
    const hang = await client('hang');
    await hang.waitForInstances();
    const outcome = drain(await hang.generate({}));
    const ctx = await handlerContext;
    (server.transport as MemoryTransport).freeze();

    await advance(clock, 3 * HEARTBEAT_MS);
    expect(ctx.isStopped()).toBe(false);
    const early = await Promise.race([outcome, settle().then(() => 'still running')]);
    expect(early).toBe('still running');

    await advance(clock, HEARTBEAT_MS / 2);
    const { error } = await outcome;
    expect(error).toBeInstanceOf(Disconnected);
    expect((error as Error).message).toMatch(/sent nothing for 3\d{3} ms/);
    // The frozen side counts the same silence on the same clock: its handler is killed.
    expect(ctx.isKilled()).toBe(true);
    expect(ctx.reason).toMatchObject({ kind: 'disconnect', message: /missed 3 heartbeats/ });
    (server.transport as MemoryTransport).thaw();
  });

  it('an idle connection stays up for as long as pings are answered, and is reused', async () => {
    const { clock, server, caller, client } = await network();
    const echo = await client('echo');
    await echo.waitForInstances();
    expect((await drain(await echo.generate('first'))).items).toEqual(['first']);
    const opened = caller.stats().connectionsOpened;

    await advance(clock, 20 * HEARTBEAT_MS);

    expect(caller.stats().connectionsLost).toBe(0);
    expect(server.stats().connectionsLost).toBe(0);
    expect((await drain(await echo.generate('second'))).items).toEqual(['second']);
    expect(caller.stats().connectionsOpened).toBe(opened);
  });

  it('a connection that sends no HELLO is closed when the handshake timeout (5 s) passes', async () => {
    // Heartbeats long enough that the silence itself would not end the connection first.
    const { clock, client } = await network(10_000);
    const echo = await client('echo');
    const [instance] = await echo.waitForInstances();
    const channel = await new MemoryTransport().connect(instance!.address);
    const closed = deferred<void>();
    channel.start(
      () => {},
      () => closed.resolve(),
    );
    clock.advance(4_999);
    const early = await Promise.race([closed.promise, settle().then(() => 'open')]);
    expect(early).toBe('open');
    clock.advance(1);
    await closed.promise;
  });
});

describe('contexts keep the runtime clock', () => {
  it('a call’s timeout and the handler’s deadline pass when the runtime clock says so', async () => {
    const { clock, client, handlerContext } = await network();
    const hang = await client('hang');
    await hang.waitForInstances();
    const stream = await hang.generate({}, { timeoutMs: 5_000 });
    const outcome = drain(stream);
    const ctx = await handlerContext;
    expect(ctx.deadline).toBe(clock.now() + 5_000);
    await advance(clock, 4_999); // in heartbeat steps, so the connection stays up
    expect(ctx.isStopped()).toBe(false);
    expect(stream.context.isStopped()).toBe(false);
    clock.advance(1);
    expect(ctx.reason?.kind).toBe('deadline');
    expect(stream.context.reason?.kind).toBe('deadline');
    const { error } = await outcome;
    expect(error).toBeInstanceOf(DeadlineExceeded);
  });
});

describe('timers on the runtime clock', () => {
  it('are all released when the runtimes shut down: heartbeats, handshake, leases', async () => {
    const { clock, server, caller, client } = await network();
    const echo = await client('echo');
    await echo.waitForInstances();
    expect((await drain(await echo.generate('x'))).items).toEqual(['x']);
    expect(clock.pendingTimers).toBeGreaterThan(0);
    await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown({ graceMs: 0, stopGraceMs: 0 })));
    expect([server, caller].every((rt) => rt.stats().connectionsOpened > 0)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });
});
