import type { ServerResponse } from 'node:http';
import type { OpenAIErrorBody } from '../openai/errors.js';

/**
 * Writes one Server-Sent Events response. Waits for `drain` when the socket buffer is full,
 * so a slow reader holds back the producer instead of filling memory. Sends a comment
 * heartbeat after `heartbeatMs` without output, so proxies keep the connection open and a
 * dead peer is noticed (the write fails and the response closes). Writing after the peer
 * left is a no-op: the disconnect is handled where `close` is watched.
 *
 * The status line goes out with the first event or the first heartbeat, whichever comes
 * first. Until then the response is still a plain one: an error from the backend that arrives early
 * (overloaded, no instances — through the runtime these surface on the first read) can
 * still be answered with its real HTTP status, and a long queue wait still gets heartbeats.
 */
export class SseWriter {
  readonly #res: ServerResponse;
  #heartbeat: ReturnType<typeof setTimeout> | undefined;
  #opened = false;

  constructor(res: ServerResponse, heartbeatMs: number) {
    this.#res = res;
    res.once('close', () => this.#stopHeartbeat());
    if (heartbeatMs > 0) {
      this.#heartbeat = setTimeout(() => this.#beat(), heartbeatMs);
      this.#heartbeat.unref();
    }
  }

  /** True once the status line and headers went out. */
  get opened(): boolean {
    return this.#opened;
  }

  /** Sends the status line and headers (once), so the client sees the stream start. */
  open(): void {
    if (this.#opened || !this.#writable()) return;
    this.#opened = true;
    this.#res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and friends: do not buffer the stream.
      'x-accel-buffering': 'no',
    });
    this.#res.flushHeaders();
  }

  /** Stops the heartbeat without writing anything (the caller answers another way). */
  abandon(): void {
    this.#stopHeartbeat();
  }

  /** Sends `data: <json>`; resolves when the socket can take more (or the peer is gone). */
  send(data: unknown): Promise<void> {
    return this.#write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /**
   * Sends one named event: `id: <id>` (what an EventSource sends back as `Last-Event-ID`
   * when it reconnects), `event: <type>` and `data: <json>`. Resolves like {@link send}.
   */
  event(type: string, data: unknown, id?: string): Promise<void> {
    const idLine = id === undefined ? '' : `id: ${id}\n`;
    return this.#write(`${idLine}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /**
   * Sends one event already formatted as SSE text (ending in a blank line): for the same
   * event going to many watchers, formatted once.
   */
  frame(text: string): Promise<void> {
    return this.#write(text);
  }

  /** Tells an EventSource how long to wait before it reconnects. */
  retry(ms: number): Promise<void> {
    return this.#write(`retry: ${Math.round(ms)}\n\n`);
  }

  /**
   * Sends an `error` event with an OpenAI error body. The `openai` SDK turns it into an
   * `APIError` for the reader, rather than a silent end.
   */
  error(body: OpenAIErrorBody): Promise<void> {
    return this.#write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
  }

  /** Ends a normal stream: `data: [DONE]`, then the end of the response. */
  done(): void {
    this.#stopHeartbeat();
    if (!this.#writable()) return;
    this.#res.end('data: [DONE]\n\n');
  }

  /** Ends an opened response without `[DONE]` (after an error event). */
  end(): void {
    this.#stopHeartbeat();
    if (!this.#opened || !this.#writable()) return;
    this.#res.end();
  }

  #write(text: string): Promise<void> {
    if (!this.#writable()) return Promise.resolve();
    this.open();
    this.#heartbeat?.refresh();
    if (this.#res.write(text)) return Promise.resolve();
    return waitForDrain(this.#res);
  }

  #beat(): void {
    if (!this.#writable()) return;
    this.open();
    this.#res.write(': keep-alive\n\n');
    this.#heartbeat?.refresh();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat !== undefined) clearTimeout(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #writable(): boolean {
    return !this.#res.destroyed && !this.#res.writableEnded;
  }
}

// Resolves on drain or close, whichever comes first, and leaves no listener behind.
function waitForDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
