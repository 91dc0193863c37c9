import type { CancelReason } from './reason.js';

// A registry symbol, so that two copies of this package (a bundled one and an installed one)
// recognise each other's errors.
const CANCELLED = Symbol.for('@andon/context.CancelledError');

/**
 * Thrown by cancellable operations when their context is stopped. Carries the reason.
 *
 * @example
 * try { await sleep(1000, ctx); }
 * catch (e) { if (isCancelledError(e)) console.log(e.reason.kind); else throw e; }
 */
export class CancelledError extends Error {
  /** Stable, machine-readable code. */
  readonly code = 'ANDON_CANCELLED';
  readonly reason: CancelReason;

  constructor(reason: CancelReason, options?: { cause?: unknown }) {
    super(`cancelled (${reason.kind}): ${reason.message}`, options);
    this.name = 'CancelledError';
    this.reason = reason;
  }

  get [CANCELLED](): true {
    return true;
  }
}

/**
 * True for a {@link CancelledError} from any copy of this package (a bundled copy and an
 * installed one recognise each other's errors).
 *
 * @example
 * try { await race(work(), ctx); }
 * catch (e) { if (isCancelledError(e)) return e.reason; throw e; }
 */
export function isCancelledError(error: unknown): error is CancelledError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [CANCELLED]?: unknown })[CANCELLED] === true
  );
}
