import { afterEach, beforeEach } from 'vitest';
import { type ErrorReporter, setErrorReporter } from '../src/report.js';

/** Collects what callbacks and finalizers throw, instead of printing it. */
export function captureReports(): { errors: Array<{ error: unknown; where: string }> } {
  const captured = { errors: [] as Array<{ error: unknown; where: string }> };
  let previous: ErrorReporter;
  beforeEach(() => {
    captured.errors.length = 0;
    previous = setErrorReporter((error, where) => captured.errors.push({ error, where }));
  });
  afterEach(() => {
    setErrorReporter(previous);
  });
  return captured;
}

/** Lets pending promise callbacks run. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** The state of a promise without waiting for it. */
export async function peek<T>(promise: Promise<T>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  promise.then(
    () => {
      state = 'fulfilled';
    },
    () => {
      state = 'rejected';
    },
  );
  await flush();
  return state;
}
