import { describe, expect, it } from 'vitest';
import { TestClock } from '../src/clock.js';
import { Context, registrationCount } from '../src/context.js';
import { CancelledError, isCancelledError } from '../src/errors.js';
import { race, sleep } from '../src/sleep.js';
import { flush, peek } from './helpers.js';

describe('sleep', () => {
  it('resolves after the time on the context clock', async () => {
    const clock = new TestClock(0);
    const ctx = new Context({ clock });
    const slept = sleep(100, ctx);
    clock.advance(99);
    expect(await peek(slept)).toBe('pending');
    clock.advance(1);
    expect(await peek(slept)).toBe('fulfilled');
    expect(registrationCount(ctx)).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects at once with CancelledError when the context stops, releasing the timer', async () => {
    const clock = new TestClock(0);
    const ctx = new Context({ clock });
    const slept = sleep(1_000, ctx);
    ctx.stop({ kind: 'disconnect' });
    await expect(slept).rejects.toSatisfy(
      (e) => isCancelledError(e) && (e as CancelledError).reason.kind === 'disconnect',
    );
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects at once on a context already stopped', async () => {
    const ctx = new Context();
    ctx.kill();
    await expect(sleep(10_000, ctx)).rejects.toBeInstanceOf(CancelledError);
  });

  it('works with real time', async () => {
    const ctx = new Context();
    const started = performance.now();
    await sleep(20, ctx);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    const pending = sleep(60_000, ctx);
    setTimeout(() => ctx.stop(), 5);
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
  });

  it('a long-lived context accumulates nothing across many sleeps', async () => {
    const clock = new TestClock(0);
    const ctx = new Context({ clock });
    for (let i = 0; i < 10_000; i++) {
      const slept = sleep(1, ctx);
      clock.advance(1);
      await slept;
    }
    expect(registrationCount(ctx)).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects bad arguments with a TypeError naming them', () => {
    const ctx = new Context();
    expect(() => sleep(-1, ctx)).toThrow(/sleep\(ms, ctx\): ms must be a finite number >= 0/);
    expect(() => sleep(Number.NaN, ctx)).toThrow(TypeError);
    expect(() => sleep(1, {} as never)).toThrow(/sleep\(ms, ctx\): ctx must be a Context/);
  });
});

describe('race', () => {
  it('settles like the promise when it wins, and releases its registration', async () => {
    const ctx = new Context();
    await expect(race(Promise.resolve(7), ctx)).resolves.toBe(7);
    await expect(race(Promise.reject(new Error('no')), ctx)).rejects.toThrow('no');
    await expect(race(42, ctx)).resolves.toBe(42);
    expect(registrationCount(ctx)).toBe(0);
  });

  it('rejects with CancelledError as soon as the context stops', async () => {
    const ctx = new Context();
    const never = new Promise<number>(() => {});
    const raced = race(never, ctx);
    expect(await peek(raced)).toBe('pending');
    ctx.stop('user');
    await expect(raced).rejects.toSatisfy(
      (e) => isCancelledError(e) && (e as CancelledError).reason.message === 'user',
    );
  });

  it('rejects at once on a stopped context, and the losing promise’s rejection is handled', async () => {
    const ctx = new Context();
    ctx.stop();
    let rejectLater!: (e: Error) => void;
    const loser = new Promise<void>((_, reject) => {
      rejectLater = reject;
    });
    await expect(race(loser, ctx)).rejects.toBeInstanceOf(CancelledError);
    rejectLater(new Error('late'));
    await flush();
  });

  it('a long-lived context accumulates nothing across many races', async () => {
    const ctx = new Context();
    for (let i = 0; i < 10_000; i++) await race(Promise.resolve(i), ctx);
    expect(registrationCount(ctx)).toBe(0);
  });

  it('rejects a non-context', () => {
    expect(() => race(Promise.resolve(), null as never)).toThrow(
      /race\(promise, ctx\): ctx must be a Context/,
    );
  });
});
