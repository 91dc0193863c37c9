import { createParser } from 'eventsource-parser';

/** One event of a task's stream as the CLI reads it. */
export interface StreamEvent {
  seq: number;
  type: string;
  data: unknown;
}

const TERMINAL = new Set(['complete', 'error', 'cancelled', 'timeout']);
// Reconnects in a row without a single event before we give up.
const MAX_IDLE_RECONNECTS = 5;

/**
 * Reads a task's SSE stream to its end, calling `onEvent` for each event in order (any
 * type, unlike a browser EventSource, which only reports the names it listens for). It
 * reconnects with `Last-Event-ID` when the stream breaks or the server drops it as lagged,
 * and ends on the terminal event or a 204. `signal` stops it quietly (Ctrl-C: stop watching,
 * not cancel).
 *
 * @returns the terminal event, or `undefined` when `signal` stopped it first.
 */
export async function readTaskEvents(
  url: string,
  onEvent: (event: StreamEvent) => void,
  signal: AbortSignal,
  headers: Record<string, string> = {},
): Promise<StreamEvent | undefined> {
  let lastSeq: number | undefined;
  let idle = 0;
  let retryMs = 1_000;
  while (!signal.aborted) {
    let terminal: StreamEvent | undefined;
    let got = 0;
    const parser = createParser({
      onRetry: (ms) => {
        retryMs = ms;
      },
      onEvent: (message) => {
        if (terminal !== undefined || message.event === 'lagged') return;
        const event: StreamEvent = {
          seq: Number(message.id),
          type: message.event ?? 'message',
          data: JSON.parse(message.data),
        };
        got++;
        lastSeq = event.seq;
        onEvent(event);
        if (TERMINAL.has(event.type)) terminal = event;
      },
    });
    try {
      const response = await fetch(url, {
        headers: {
          ...headers,
          ...(lastSeq === undefined ? {} : { 'last-event-id': String(lastSeq) }),
        },
        signal,
      });
      if (response.status === 204) return undefined;
      if (!response.ok || response.body === null) {
        throw new Error(`the event stream answered ${response.status} ${await response.text()}`);
      }
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      for (;;) {
        const read = await reader.read();
        if (read.done) break;
        parser.feed(decoder.decode(read.value, { stream: true }));
        if (terminal !== undefined) {
          await reader.cancel();
          return terminal;
        }
      }
    } catch (error) {
      if (signal.aborted) return undefined;
      if (!(error instanceof TypeError)) throw error;
    }
    idle = got > 0 ? 0 : idle + 1;
    if (idle > MAX_IDLE_RECONNECTS) throw new Error(`the event stream at ${url} keeps breaking`);
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
  return undefined;
}
