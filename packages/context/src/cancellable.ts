import type { Context } from './context.js';
import { describeArgument } from './describe-argument.js';
import { CancelledError } from './errors.js';
import { assertContext } from './guard.js';
import { reportError } from './report.js';
import { race } from './sleep.js';

/** What {@link cancellable} returns: iterate it with `for await`, or dispose it to close. */
export type CancellableIterator<T> = AsyncIterableIterator<T> & AsyncDisposable;

/**
 * Wraps an async iterable so that a stop of `ctx` ends the loop at once, even while the
 * source is stuck in an `await`: the pending `next()` rejects with {@link CancelledError}
 * and the source's `return()` is called so that it can release what it holds. Leaving the
 * loop early (`break`, `return`, an exception) also calls the source's `return()`.
 *
 * An async generator that is stuck in an `await` only runs its `finally` blocks once that
 * await settles (the language queues `return()` behind it); the wrapper does not wait for
 * it, so your loop ends promptly either way. Errors from a `return()` called on cancel go to
 * the error reporter (see `setErrorReporter`).
 *
 * @example
 * try {
 *   for await (const token of cancellable(model.stream(prompt), ctx)) res.write(token);
 * } catch (e) {
 *   if (!isCancelledError(e)) throw e; // stopped: e.reason says why
 * }
 */
export function cancellable<T>(
  iterable: AsyncIterable<T> | Iterable<T>,
  ctx: Context,
): CancellableIterator<T> {
  const where = 'cancellable(iterable, ctx)';
  assertContext(ctx, where);
  const open = openIterator(iterable, where);
  let source: AsyncIterator<T> | Iterator<T> | undefined;
  let finished = false;

  const finish = (): void => {
    finished = true;
    source = undefined;
  };
  // On cancel the source may be stuck, so its return() is started but not awaited.
  const closeQuietly = (): void => {
    const it = source;
    finish();
    if (it?.return === undefined) return;
    try {
      Promise.resolve(it.return()).catch((error: unknown) =>
        reportError(error, 'an iterator return() called on cancel'),
      );
    } catch (error) {
      reportError(error, 'an iterator return() called on cancel');
    }
  };

  const iterator: CancellableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      if (finished) return { done: true, value: undefined };
      if (ctx.isStopped()) {
        closeQuietly();
        throw new CancelledError(ctx.reason!);
      }
      source ??= open();
      const pending = Promise.resolve(source.next());
      let result: IteratorResult<T>;
      try {
        result = await race(pending, ctx);
      } catch (error) {
        if (ctx.isStopped() && error instanceof CancelledError) {
          // The abandoned next() may still reject later; that is no longer anyone's error.
          pending.catch(() => {});
          closeQuietly();
        } else {
          finish();
        }
        throw error;
      }
      if (result.done) finish();
      return result;
    },
    async return(value?: unknown): Promise<IteratorResult<T>> {
      const it = source;
      finish();
      if (it?.return !== undefined) await it.return(value);
      return { done: true, value: value as T };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    async [Symbol.asyncDispose]() {
      await this.return?.();
    },
  };
  return iterator;
}

function openIterator<T>(
  iterable: AsyncIterable<T> | Iterable<T>,
  where: string,
): () => AsyncIterator<T> | Iterator<T> {
  if (iterable !== null && typeof iterable === 'object') {
    const asyncOpen = (iterable as AsyncIterable<T>)[Symbol.asyncIterator];
    if (typeof asyncOpen === 'function') return () => asyncOpen.call(iterable);
    const syncOpen = (iterable as Iterable<T>)[Symbol.iterator];
    if (typeof syncOpen === 'function') return () => syncOpen.call(iterable);
  }
  throw new TypeError(
    `${where}: iterable must be an async or sync iterable, got ${describeArgument(iterable)}`,
  );
}
