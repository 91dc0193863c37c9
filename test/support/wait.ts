/**
 * Waiting in tests. Prefer awaiting the event itself (a promise, a stream item, a `once`);
 * these are for state that has no event of its own to await.
 */

/** A promise with its resolve and reject in hand. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface WaitOptions {
  /** Give up after this long. Default 5 s. */
  timeoutMs?: number;
  /** Look again after this long. Default 5 ms; probes that cost a request use more. */
  everyMs?: number;
}

/**
 * Resolves once `condition` holds, with how long that took in ms; rejects after `timeoutMs`
 * saying it timed out waiting for `what`. `condition` may be async (a probe over HTTP).
 *
 * The one polling helper of the suite: (condition, what, timeoutMs | options), in that order.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  options: number | WaitOptions = {},
): Promise<number> {
  const { timeoutMs = 5_000, everyMs = 5 } =
    typeof options === 'number' ? { timeoutMs: options } : options;
  const start = performance.now();
  while (!(await condition())) {
    if (performance.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return performance.now() - start;
}
