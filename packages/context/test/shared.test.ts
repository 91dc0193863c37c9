import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Context } from '../src/context.js';
import { CancelledError } from '../src/errors.js';
import { openSharedContext, shareContext } from '../src/shared.js';
import { flush } from './helpers.js';

const workerFile = fileURLToPath(new URL('./fixtures/shared-worker.mjs', import.meta.url));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** Starts the fixture worker in `mode`; `next()` returns its next message. */
function startWorker(buffer: SharedArrayBuffer, mode: string) {
  const worker = new Worker(workerFile, { workerData: { buffer, mode } });
  workers.push(worker);
  const queue: unknown[] = [];
  const waiting: Array<(m: unknown) => void> = [];
  worker.on('message', (message) => {
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  const failed = new Promise<never>((_, reject) => worker.on('error', reject));
  const exited = new Promise<number>((resolve) => worker.on('exit', resolve));
  const next = <T = Record<string, unknown>>(): Promise<T> =>
    Promise.race([
      failed,
      new Promise<T>((resolve) => {
        if (queue.length > 0) resolve(queue.shift() as T);
        else waiting.push(resolve as (m: unknown) => void);
      }),
    ]);
  return { worker, next, exited };
}

describe('sharing a context with a worker thread', () => {
  it('a worker awaiting stopped() sees a main-thread stop within 50 ms, with the reason', async () => {
    const ctx = new Context({ id: 'req-42' });
    const shared = shareContext(ctx);
    const { next } = startWorker(shared.buffer, 'await-stopped');
    // Ready once it has begun to await stopped().
    expect(await next()).toEqual({ ready: true, id: 'req-42' });
    const stoppedAt = now();
    ctx.stop({ kind: 'disconnect', message: 'client went away', origin: 'edge' });
    const seen = await next<{ at: number; state: string; reason: unknown }>();
    expect(seen.at - stoppedAt).toBeLessThan(50);
    expect(seen.state).toBe('stopped');
    expect(seen.reason).toEqual(ctx.reason);
    ctx.dispose();
  });

  it('a busy loop that never yields sees the stop on its next check', async () => {
    const ctx = new Context();
    const shared = shareContext(ctx);
    const { next } = startWorker(shared.buffer, 'busy-loop');
    await next();
    expect(await next()).toEqual({ looping: true });
    ctx.stop('enough');
    // The loop has no await: only its atomic read can have seen the stop.
    const seen = await next<{ checks: number; reason: { message: string } }>();
    expect(seen.checks).toBeGreaterThan(0);
    expect(seen.reason.message).toBe('enough');
    ctx.dispose();
  });

  it('a stop from the worker reaches the main context, without the main thread polling', async () => {
    const ctx = new Context();
    const shared = shareContext(ctx);
    const { next } = startWorker(shared.buffer, 'stop-from-worker');
    expect(await next()).toEqual({ stateAfterStop: 'stopped' });
    await ctx.stopped();
    expect(ctx.reason).toMatchObject({
      kind: 'error',
      message: 'worker gave up',
      origin: 'worker',
    });
    ctx.dispose();
  });

  it('kill escalation crosses from the main thread', async () => {
    const ctx = new Context();
    const shared = shareContext(ctx);
    const { next } = startWorker(shared.buffer, 'kill-escalation');
    await next();
    ctx.stop('first');
    expect(await next()).toMatchObject({ first: 'stopped', reason: { message: 'first' } });
    ctx.kill('second');
    expect(await next()).toEqual({ second: 'killed', killedLocal: true });
    ctx.dispose();
  });

  it('kill escalation crosses from the worker', async () => {
    const ctx = new Context();
    const shared = shareContext(ctx);
    const { next } = startWorker(shared.buffer, 'kill-from-worker');
    await next();
    ctx.stop('main stops');
    expect(await next()).toEqual({ done: 'killed' });
    await ctx.killed();
    expect(ctx.reason?.message).toBe('main stops');
    ctx.dispose();
  });

  it('a worker that disposes its view exits on its own', async () => {
    const ctx = new Context();
    const shared = shareContext(ctx);
    const { next, exited } = startWorker(shared.buffer, 'dispose-and-idle');
    expect(await next()).toEqual({ disposed: true });
    expect(await exited).toBe(0);
    expect(ctx.state).toBe('live');
    ctx.dispose();
  });

  it('disposing the owner stops the worker’s view with kind parent', async () => {
    const ctx = new Context();
    const shared = shareContext(ctx);
    const { next } = startWorker(shared.buffer, 'await-stopped');
    await next();
    ctx.dispose();
    const seen = await next<{ reason: { kind: string; message: string } }>();
    expect(seen.reason.kind).toBe('parent');
    expect(seen.reason.message).toMatch(/finished/);
  });
});

describe('shared context semantics (two views on one thread)', () => {
  it('crosses id, deadline and state; the view follows through its event loop', async () => {
    // Deadlines are absolute epoch ms; the other thread enforces them on its own clock too.
    const deadline = Date.now() + 60_000;
    const ctx = new Context({ id: 'abc', deadline });
    const owner = shareContext(ctx);
    const view = openSharedContext(owner.buffer);
    expect(view.id).toBe('abc');
    expect(view.context.deadline).toBe(deadline);
    expect(view.isStopped()).toBe(false);
    ctx.stop('x');
    // The atomic read sees it at once; the view's context catches up on the event loop.
    expect(view.isStopped()).toBe(true);
    await view.stopped();
    expect(view.context.reason).toEqual(ctx.reason);
    expect(view.state).toBe('stopped');
    view.kill();
    expect(ctx.isKilled()).toBe(false);
    await ctx.killed();
    expect(ctx.reason?.message).toBe('x');
    view.dispose();
    ctx.dispose();
  });

  it('reading state, reason or throwIfStopped catches the view up at once', () => {
    const ctx = new Context();
    const view = openSharedContext(shareContext(ctx).buffer);
    ctx.kill({ kind: 'shutdown' });
    expect(view.context.state).toBe('live');
    expect(() => view.throwIfStopped()).toThrow(CancelledError);
    expect(view.context.state).toBe('killed');
    expect(view.reason?.kind).toBe('shutdown');
    view.dispose();
    ctx.dispose();
  });

  it('the first reason wins across views, and a stop is synchronous for its caller', () => {
    const ctx = new Context();
    const owner = shareContext(ctx);
    const a = openSharedContext(owner.buffer);
    const b = openSharedContext(owner.buffer);
    a.stop({ kind: 'error', message: 'a first' });
    b.stop('b second');
    expect(a.context.state).toBe('stopped');
    expect(b.reason?.message).toBe('a first');
    expect(owner.reason?.message).toBe('a first');
    for (const s of [a, b, owner]) s.dispose();
  });

  it('stopGenerating is stop on a shared context too', () => {
    const ctx = new Context();
    const view = openSharedContext(shareContext(ctx).buffer);
    view.stopGenerating('enough');
    expect(view.state).toBe('stopped');
    expect(view.reason).toMatchObject({ kind: 'stop', message: 'enough' });
    view.dispose();
    ctx.dispose();
  });

  it('a reason too long for the buffer is shortened, never dropped', () => {
    const ctx = new Context();
    const owner = shareContext(ctx, { reasonBytes: 128 });
    const view = openSharedContext(owner.buffer);
    ctx.stop({ kind: 'disconnect', message: 'x'.repeat(10_000) });
    expect(view.reason?.kind).toBe('disconnect');
    expect(view.reason?.message.length).toBeLessThan(128);
    expect(view.reason?.message.startsWith('xxx')).toBe(true);
    view.dispose();
    ctx.dispose();
  });

  it('a deadline reached on the other thread stops everyone with kind deadline', async () => {
    const ctx = new Context({ deadline: Date.now() + 30 });
    const view = openSharedContext(shareContext(ctx).buffer);
    await view.stopped();
    await ctx.stopped();
    expect(ctx.reason?.kind).toBe('deadline');
    expect(view.reason?.kind).toBe('deadline');
    view.dispose();
    ctx.dispose();
  });

  it('a context already stopped shares its state', () => {
    const ctx = new Context();
    ctx.stop('early');
    const view = openSharedContext(shareContext(ctx).buffer);
    expect(view.isStopped()).toBe(true);
    expect(view.reason?.message).toBe('early');
    view.dispose();
  });

  it('after dispose a view changes nothing and stops waiting', async () => {
    const ctx = new Context();
    const view = openSharedContext(shareContext(ctx).buffer);
    view.dispose();
    view.stop();
    await flush();
    expect(ctx.state).toBe('live');
    expect(view.context.disposed).toBe(true);
    ctx.dispose();
  });

  it('rejects bad arguments', () => {
    expect(() => shareContext({} as never)).toThrow(
      /shareContext\(ctx, options\): ctx must be a Context/,
    );
    const disposed = new Context();
    disposed.dispose();
    expect(() => shareContext(disposed)).toThrow(/ctx is disposed/);
    expect(() => shareContext(new Context(), { reasonBytes: 8 })).toThrow(/options.reasonBytes/);
    expect(() => openSharedContext(new ArrayBuffer(64) as never)).toThrow(
      /openSharedContext\(buffer\): buffer must be the SharedArrayBuffer/,
    );
    expect(() => openSharedContext(new SharedArrayBuffer(64))).toThrow(TypeError);
    expect(() => openSharedContext(new SharedArrayBuffer(64)).stop({ kind: 'x' as never })).toThrow(
      TypeError,
    );
  });
});
