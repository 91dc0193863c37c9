import { CancelledError, type Context } from '@andon/context';
import type { EngineChunk } from '../backend.js';
import { HttpError } from '../openai/errors.js';

/**
 * Reads the backend's chunks until the stream ends or `context` stops, whichever is first.
 *
 * The backend is expected to end or throw by itself when the context stops, but the front
 * end does not depend on it: a stop wakes a pending read at once (throwing CancelledError),
 * and leaving the loop calls the iterator's `return()` without waiting for it, so a backend
 * that ignores its context can never hang a request. Chunks that still arrive after the
 * stop are reported to `onLateChunk` (wasted work, counted in metrics) and dropped.
 */
export async function* pullChunks(
  source: AsyncIterable<EngineChunk>,
  context: Context,
  onLateChunk: (chunk: EngineChunk) => void,
): AsyncGenerator<EngineChunk, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let interrupt: ((error: unknown) => void) | undefined;
  const registration = context.onStop((reason) => interrupt?.(new CancelledError(reason)));
  let finished = false;
  let pending: Promise<IteratorResult<EngineChunk>> | undefined;
  try {
    while (true) {
      if (context.isStopped()) throw new CancelledError(context.reason!);
      const next = iterator.next();
      pending = next;
      const result = await new Promise<IteratorResult<EngineChunk>>((resolve, reject) => {
        interrupt = reject;
        next.then(resolve, reject);
      });
      interrupt = undefined;
      pending = undefined;
      if (result.done) {
        finished = true;
        return;
      }
      if (context.isStopped()) {
        onLateChunk(result.value);
        continue;
      }
      yield checkChunk(result.value);
    }
  } finally {
    interrupt = undefined;
    registration[Symbol.dispose]();
    // A read the stop interrupted may still deliver: that is work done after the cancel.
    pending?.then(
      (result) => {
        if (!result.done) onLateChunk(result.value);
      },
      () => {},
    );
    if (!finished) {
      // Fire and forget: through the runtime this kills the remote request.
      Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => {});
    }
  }
}

// Chunks may come off the wire from another process; a malformed one is the backend's fault.
function checkChunk(chunk: unknown): EngineChunk {
  const value = chunk as EngineChunk | null;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.text !== 'string' ||
    (value.finishReason !== undefined &&
      value.finishReason !== 'stop' &&
      value.finishReason !== 'length') ||
    (value.finishReason !== undefined &&
      (typeof value.usage?.promptTokens !== 'number' ||
        typeof value.usage?.completionTokens !== 'number'))
  ) {
    throw new HttpError(502, 'the backend sent a malformed chunk', { code: 'protocol_error' });
  }
  return value;
}
