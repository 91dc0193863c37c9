import { systemClock } from './clock.js';
import type { Context } from './context.js';
import { CancelledError } from './errors.js';
import { assertContext, assertDuration } from './guard.js';

// setTimeout fires at once above 2^31-1 ms; longer sleeps re-arm in steps.
const MAX_TIMER_DELAY = 2_147_483_647;

/**
 * Resolves after `ms` milliseconds, or rejects with {@link CancelledError} (carrying the
 * reason) as soon as `ctx` stops, whichever comes first. Rejects at once if `ctx` is already
 * stopped. Either way the timer and the stop registration are released, so a long-lived
 * context does not accumulate anything across many sleeps.
 *
 * With the system clock the timer is ref'd, like `setTimeout`: an awaited sleep keeps the
 * process alive. With a test clock (`new Context({ clock })`) the sleep follows that clock.
 *
 * @example
 * try {
 *   await sleep(1_000, ctx);
 * } catch (e) {
 *   if (!isCancelledError(e)) throw e;
 *   console.log('stopped early:', e.reason.kind);
 * }
 */
export function sleep(ms: number, ctx: Context): Promise<void> {
  assertDuration(ms, 'sleep(ms, ctx)', 'ms');
  assertContext(ctx, 'sleep(ms, ctx)');
  if (ctx.isStopped()) return Promise.reject(new CancelledError(ctx.reason!));
  return new Promise<void>((resolve, reject) => {
    const clock = ctx.clock;
    const cancelTimer =
      clock === systemClock
        ? refTimer(() => done(), ms)
        : (
            (handle: unknown) => () =>
              clock.clearTimer(handle)
          )(clock.setTimer(() => done(), ms));
    const registration = ctx.onStop((reason) => {
      cancelTimer();
      reject(new CancelledError(reason));
    });
    function done(): void {
      registration.dispose();
      resolve();
    }
  });
}

/**
 * Settles like `promise`, unless `ctx` stops first: then rejects at once with
 * {@link CancelledError}. The stop registration is released when either side settles.
 * `promise` itself is not cancelled (a promise cannot be); pass `ctx` (or `ctx.signal`) to
 * the work that produces it so that the work stops too. Like `Promise.race`, a later
 * rejection of `promise` counts as handled.
 *
 * @example
 * const body = await race(fetch(url, { signal: ctx.signal }).then((r) => r.text()), ctx);
 */
export function race<T>(promise: PromiseLike<T> | T, ctx: Context): Promise<T> {
  assertContext(ctx, 'race(promise, ctx)');
  const input = Promise.resolve(promise);
  if (ctx.isStopped()) {
    input.catch(ignore);
    return Promise.reject(new CancelledError(ctx.reason!));
  }
  return new Promise<T>((resolve, reject) => {
    const registration = ctx.onStop((reason) => reject(new CancelledError(reason)));
    input.then(
      (value) => {
        registration.dispose();
        resolve(value);
      },
      (error: unknown) => {
        registration.dispose();
        reject(error);
      },
    );
  });
}

function ignore(): void {}

/** A ref'd timer of any length; returns its canceller. */
function refTimer(callback: () => void, ms: number): () => void {
  if (ms <= MAX_TIMER_DELAY) {
    const handle = setTimeout(callback, ms);
    return () => clearTimeout(handle);
  }
  const dueAt = Date.now() + ms;
  let handle: ReturnType<typeof setTimeout>;
  const arm = (delay: number) => {
    handle = setTimeout(
      () => {
        const left = dueAt - Date.now();
        if (left > 0) arm(left);
        else callback();
      },
      Math.min(delay, MAX_TIMER_DELAY),
    );
  };
  arm(ms);
  return () => clearTimeout(handle);
}
