import WebSocket from 'ws';

/** A message the queue sent, as parsed JSON. */
export type Received = { type: string; request_id?: string } & Record<string, unknown>;

/**
 * A real WebSocket client (the `ws` package) of `/v1/ws` that records every message, so a
 * test waits for the one it expects instead of sleeping.
 */
export class QueueClient {
  readonly ws: WebSocket;
  readonly received: Received[] = [];
  /** Resolves with the close code and reason once the socket closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #waiters = new Set<() => void>();
  readonly #taken = new Set<number>();

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { headers });
    this.ws.on('message', (data) => {
      this.received.push(JSON.parse(data.toString()) as Received);
      for (const wake of [...this.#waiters]) wake();
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const wake of [...this.#waiters]) wake();
      });
    });
    // A refused upgrade is an 'error' (and 'close'): the test reads it from `closed`.
    this.ws.on('error', () => {});
  }

  /** Resolves once the socket is open. */
  open(ms = 10_000): Promise<this> {
    if (this.ws.readyState === WebSocket.OPEN) return Promise.resolve(this);
    return withTimeout(
      new Promise((resolve, reject) => {
        this.ws.once('open', () => resolve(this));
        this.ws.once('error', reject);
      }),
      ms,
      'the socket to open',
    );
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /**
   * The first message that satisfies `predicate` and no earlier `next` returned (so
   * waits for messages that came in another order do not miss each other); rejects after
   * `ms`, listing what came.
   */
  next(
    predicate: (message: Received) => boolean,
    what: string,
    ms = 10_000,
    from = 0,
  ): Promise<Received> {
    return withTimeout(
      new Promise<Received>((resolve) => {
        const check = () => {
          for (let i = from; i < this.received.length; i++) {
            const message = this.received[i]!;
            if (!this.#taken.has(i) && predicate(message)) {
              this.#taken.add(i);
              this.#waiters.delete(check);
              resolve(message);
              return;
            }
          }
        };
        this.#waiters.add(check);
        check();
      }),
      ms,
      () => `${what}; received ${JSON.stringify(this.received.slice(-10))}`,
    );
  }

  /** Where the messages received so far end: pass it as `from` to wait for later ones only. */
  mark(message?: Received): number {
    return message === undefined ? this.received.length : this.received.indexOf(message) + 1;
  }

  /** The next message of `type` (about `requestId` when given). */
  nextOf(type: string, requestId?: string, ms?: number, from = 0): Promise<Received> {
    return this.next(
      (m) => m.type === type && (requestId === undefined || m.request_id === requestId),
      `a ${type} message${requestId ? ` about ${requestId}` : ''}`,
      ms,
      from,
    );
  }

  /** Sends `message` and waits for the next message of `type` about the same request. */
  async ask(message: Record<string, unknown>, type: string): Promise<Received> {
    this.send(message);
    return this.nextOf(type, message.request_id as string | undefined);
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string | (() => string)) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`waited ${ms} ms for ${typeof what === 'string' ? what : what()}`)),
        ms,
      );
    }),
  ]);
}
