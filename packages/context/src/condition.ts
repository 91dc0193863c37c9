import type { Context, Subscription } from './context.js';
import { describeArgument } from './describe-argument.js';
import { assertContext, assertDuration, assertFunction } from './guard.js';
import type { CancelReason } from './reason.js';

/** A condition to poll: true (or a promise of true) means "stop now". */
export type Predicate = () => boolean | PromiseLike<boolean>;

/** Options for {@link stopWhen}. */
export interface StopWhenOptions {
  /** Milliseconds between checks (default 100). Checks never overlap. */
  intervalMs?: number;
  /** Message of the stop reason (default: 'stop condition met'). */
  message?: string;
  /** Stop with `kill()` instead of `stop()`. */
  kill?: boolean;
}

/**
 * Stops `ctx` with kind `condition` once `predicate()` returns true (or resolves to true).
 * The predicate is checked at once and then every `intervalMs` on the context's clock; an
 * async predicate is awaited before the next check is scheduled, so checks never overlap.
 * A predicate that throws or rejects stops `ctx` with kind `error` (nothing fails
 * silently). The timer is released when `ctx` stops or is disposed, or when the returned
 * disposable is disposed.
 *
 * @example
 * // Stop the crawl when the disk is nearly full.
 * using watch = stopWhen(ctx, async () => (await freeBytes('/data')) < 1e9, { intervalMs: 1_000 });
 * await crawl(ctx);
 */
export function stopWhen(
  ctx: Context,
  predicate: Predicate,
  options?: StopWhenOptions,
): Subscription {
  const where = 'stopWhen(ctx, predicate, options)';
  assertContext(ctx, where);
  assertFunction(predicate, where, 'predicate');
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`${where}: options must be an object, got ${describeArgument(options)}`);
  }
  const intervalMs = options?.intervalMs ?? 100;
  assertDuration(intervalMs, where, 'options.intervalMs');
  if (intervalMs === 0) throw new TypeError(`${where}: options.intervalMs must be > 0, got 0`);
  const message = options?.message;
  if (message !== undefined && typeof message !== 'string') {
    throw new TypeError(
      `${where}: options.message must be a string, got ${describeArgument(message)}`,
    );
  }
  return new ConditionWatch(ctx, predicate, intervalMs, message, options?.kill === true);
}

class ConditionWatch implements Subscription {
  #timer: unknown;
  #active = false;
  #registration: Subscription | undefined;

  constructor(
    readonly ctx: Context,
    readonly predicate: Predicate,
    readonly intervalMs: number,
    readonly message: string | undefined,
    readonly kill: boolean,
  ) {
    // A stopped or finished context has nothing left to watch for.
    if (ctx.isStopped() || ctx.disposed) return;
    this.#active = true;
    this.#registration = ctx.onStop(() => this.dispose());
    ctx.defer(() => this.dispose());
    this.#check();
  }

  dispose(): void {
    if (!this.#active) return;
    this.#active = false;
    if (this.#timer !== undefined) this.ctx.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#registration?.dispose();
    this.#registration = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #check(): void {
    let result: boolean | PromiseLike<boolean>;
    try {
      result = this.predicate();
    } catch (error) {
      this.#failed(error);
      return;
    }
    if (typeof (result as PromiseLike<boolean> | null)?.then === 'function') {
      Promise.resolve(result).then(
        (value) => this.#apply(value),
        (error: unknown) => this.#failed(error),
      );
    } else this.#apply(result);
  }

  #apply(met: unknown): void {
    if (!this.#active) return;
    if (met) {
      const reason: Partial<CancelReason> = { kind: 'condition' };
      if (this.message !== undefined) (reason as { message?: string }).message = this.message;
      this.#stop(reason);
      return;
    }
    this.#timer = this.ctx.clock.setTimer(() => {
      this.#timer = undefined;
      if (this.#active) this.#check();
    }, this.intervalMs);
  }

  #failed(error: unknown): void {
    if (!this.#active) return;
    const detail = error instanceof Error ? error.message : String(error);
    this.#stop({ kind: 'error', message: `stop condition threw: ${detail}`, origin: 'condition' });
  }

  #stop(reason: Partial<CancelReason>): void {
    if (this.kill) this.ctx.kill(reason);
    else this.ctx.stop(reason);
    this.dispose();
  }
}
