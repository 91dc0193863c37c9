import { describe, expect, it } from 'vitest';
import { TestClock } from '../src/clock.js';
import { stopWhen } from '../src/condition.js';
import { Context, registrationCount } from '../src/context.js';
import { flush } from './helpers.js';

describe('stopWhen', () => {
  it('polls a sync predicate at the interval and stops with kind condition', () => {
    const clock = new TestClock(0);
    const ctx = new Context({ clock });
    let calls = 0;
    let full = false;
    stopWhen(
      ctx,
      () => {
        calls++;
        return full;
      },
      { intervalMs: 50, message: 'disk full' },
    );
    expect(calls).toBe(1);
    clock.advance(100);
    expect(calls).toBe(3);
    full = true;
    clock.advance(50);
    expect(ctx.reason).toMatchObject({ kind: 'condition', message: 'disk full' });
    expect(clock.pendingTimers).toBe(0);
    expect(registrationCount(ctx)).toBe(0);
  });

  it('awaits an async predicate before scheduling the next check', async () => {
    const clock = new TestClock(0);
    const ctx = new Context({ clock });
    let inFlight = 0;
    let maxInFlight = 0;
    let answer = false;
    stopWhen(ctx, async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await flush(2);
      inFlight--;
      return answer;
    });
    for (let i = 0; i < 5; i++) {
      clock.advance(100);
      await flush(10);
    }
    expect(maxInFlight).toBe(1);
    answer = true;
    clock.advance(100);
    await flush(10);
    expect(ctx.reason?.kind).toBe('condition');
    expect(clock.pendingTimers).toBe(0);
  });

  it('can kill instead of stop', () => {
    const ctx = new Context({ clock: new TestClock(0) });
    stopWhen(ctx, () => true, { kill: true });
    expect(ctx.state).toBe('killed');
  });

  it('a predicate that throws stops the context with kind error', async () => {
    const ctx = new Context({ clock: new TestClock(0) });
    stopWhen(ctx, () => {
      throw new Error('probe failed');
    });
    expect(ctx.reason).toMatchObject({ kind: 'error' });
    expect(ctx.reason?.message).toMatch(/probe failed/);
    const other = new Context({ clock: new TestClock(0) });
    stopWhen(other, async () => Promise.reject(new Error('async probe failed')));
    await flush();
    expect(other.reason?.message).toMatch(/async probe failed/);
  });

  it('releases its timer when the context stops, is disposed, or the watch is disposed', () => {
    const clock = new TestClock(0);
    const stopped = new Context({ clock });
    stopWhen(stopped, () => false);
    const disposed = new Context({ clock });
    stopWhen(disposed, () => false);
    const watched = new Context({ clock });
    const watch = stopWhen(watched, () => false);
    expect(clock.pendingTimers).toBe(3);
    stopped.stop();
    disposed.dispose();
    watch.dispose();
    expect(clock.pendingTimers).toBe(0);
    expect(registrationCount(watched)).toBe(0);
    clock.advance(1_000);
    expect(watched.state).toBe('live');
  });

  it('does nothing on a context already stopped or disposed', () => {
    const clock = new TestClock(0);
    const ctx = new Context({ clock });
    ctx.stop();
    let calls = 0;
    stopWhen(ctx, () => ++calls > 0);
    expect(calls).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects bad arguments', () => {
    const ctx = new Context();
    expect(() => stopWhen({} as never, () => true)).toThrow(/ctx must be a Context/);
    expect(() => stopWhen(ctx, 'x' as never)).toThrow(/predicate must be a function/);
    expect(() => stopWhen(ctx, () => false, { intervalMs: -1 })).toThrow(/options.intervalMs/);
    expect(() => stopWhen(ctx, () => false, { intervalMs: 0 })).toThrow(
      /options.intervalMs must be > 0/,
    );
    expect(() => stopWhen(ctx, () => false, { message: 3 as never })).toThrow(/options.message/);
  });
});
