import type { Context } from '@andon/context';
import type { KindOptions, TaskHandle, TaskHandler } from '@andon/tasks';
import { objectInput } from './input.js';

/** The input of `demo/Fetch`. */
export interface FetchInput {
  url: string;
}

/** What `demo/Fetch` completes with. */
export interface FetchResult {
  status: number;
  bytes: number;
}

// A progress event per this many bytes at most, so a fast download does not flood watchers.
const PROGRESS_EVERY_BYTES = 64 * 1024;

/**
 * `demo/Fetch { url }`: downloads `url` under the task's AbortSignal, so a cancel closes
 * the HTTP connection mid-download. Events: `start { url }`, `progress { bytes, total }`
 * (total from `content-length`, or null), then `complete` with `{ status, bytes }`.
 */
export const fetchUrl: TaskHandler<FetchInput, FetchResult> = async (
  { url },
  ctx: Context,
  task: TaskHandle,
) => {
  await task.emit('start', { url });
  const response = await fetch(url, { signal: ctx.signal, redirect: 'follow' });
  const length = Number(response.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : null;
  let bytes = 0;
  let reported = 0;
  const reader = response.body?.getReader();
  for (;;) {
    const read = await reader?.read();
    if (read === undefined || read.done) break;
    bytes += read.value.byteLength;
    if (bytes - reported >= PROGRESS_EVERY_BYTES) {
      reported = bytes;
      void task.emit('progress', { bytes, total });
    }
  }
  if (bytes !== reported) void task.emit('progress', { bytes, total });
  return { status: response.status, bytes };
};

export const fetchOptions: KindOptions<FetchInput> = {
  validate(input) {
    const fields = objectInput(input, 'demo/Fetch', '{"url": "http://127.0.0.1:8080/file"}');
    const { url } = fields;
    if (typeof url !== 'string') throw new TypeError('url must be a string');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(
        `url must be an absolute http:// or https:// URL, got ${JSON.stringify(url)}`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`url must be an http:// or https:// URL, got ${parsed.protocol}//`);
    }
    return { url: parsed.href };
  },
};
