import { type CancelReason, type Context, rootCause } from '@andon/context';
import { DeadlineExceeded, ProtocolError } from '../errors.js';
import { FrameType } from '../wire/frame.js';
import { CallerConnection } from './caller.js';

type Waiter<T> = { resolve(result: IteratorResult<T>): void; reject(error: unknown): void };

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined });

/**
 * A response stream: an async iterable of items, plus the call's {@link Context}.
 *
 * - Leaving a `for await` loop early (break, return, throw) kills the remote request.
 * - `stream.context.stop()` stops it gracefully: items already on their way
 *   (up to the credit window) still arrive, then the stream ends.
 * - `stream.context.kill()` ends it now: the loop's next step ends it, and items that
 *   arrived but were not read are dropped.
 * - A stream ends normally only on the remote END. A lost peer fails it with
 *   `Disconnected`; a passed deadline with `DeadlineExceeded`; a remote failure with its
 *   typed error. Cancelling from the calling side (stop or kill of the call's context or
 *   an ancestor) is never an error.
 *
 * @example
 * const stream = await client.generate({ prompt: 'hi' }, { context: ctx });
 * for await (const item of stream) {
 *   if (enough(item)) stream.context.stop();
 * }
 */
export class ResponseStream<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  #head = 0;
  #waiter: Waiter<T> | undefined;
  #finished = false;
  #error: unknown;
  #connection: CallerConnection | undefined;
  #id = 0;
  #received = 0;
  #granted: number;
  #consumedSinceGrant = 0;
  #start: (() => void) | undefined;
  #loss: Error | undefined;
  #propagate = true;
  // Without propagation a cancelled call only detaches: its items are read and dropped.
  #detached = false;

  /**
   * @internal Created by the client; `start` sends the REQUEST on the first read.
   */
  constructor(
    readonly context: Context,
    readonly window: number,
    start: ((stream: ResponseStream<T>) => void) | undefined,
  ) {
    this.#granted = window;
    if (start === undefined || context.isStopped()) {
      this.#finishQuietly();
      return;
    }
    this.#start = () => start(this);
    context.onStop((reason) => this.#onContextStop(reason));
    context.onKill((reason) => this.#onContextKill(reason));
  }

  /** @internal The connection and stream number this call was sent on. */
  attach(connection: CallerConnection, id: number, propagate = true): void {
    this.#connection = connection;
    this.#id = id;
    this.#propagate = propagate;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#start !== undefined) {
      const start = this.#start;
      this.#start = undefined;
      try {
        start();
      } catch (error) {
        this.#fail(error);
      }
    }
    if (this.#head < this.#items.length)
      return Promise.resolve({ done: false, value: this.#take() });
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#finished) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Leaving the loop early: the remote request is killed. */
  return(): Promise<IteratorResult<T>> {
    if (!this.#finished) {
      this.context.kill({ kind: 'kill', message: 'the consumer stopped reading the stream' });
    }
    this.#items.length = 0;
    this.#head = 0;
    this.#error = undefined;
    return Promise.resolve(DONE);
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(error);
  }

  // ── frames from the connection ──

  /** @internal */
  receive(flags: number, payload: Uint8Array): void {
    if (this.#detached) {
      this.#connection?.countDetachedItems(1);
      this.#consumedSinceGrant++;
      this.#grantCredit();
      return;
    }
    if (this.#finished) return;
    this.#received++;
    if (this.#received > this.#granted) {
      this.#protocolError(`DATA beyond the granted credit (${this.#granted} items)`);
      return;
    }
    let item: T;
    try {
      item = CallerConnection.decodeItem(flags, payload) as T;
    } catch (error) {
      this.#protocolError((error as Error).message);
      return;
    }
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      this.#consumed();
      waiter.resolve({ done: false, value: item });
    } else {
      this.#items.push(item);
    }
  }

  /** @internal The remote END. */
  end(): void {
    if (this.#detached) this.#connection?.forget(this.#id);
    this.#finishQuietly();
  }

  /** @internal A typed failure from the remote side (or a bad ERROR frame). */
  fail(error: Error, protocol: boolean): void {
    if (this.#detached) {
      this.#connection?.forget(this.#id);
      return;
    }
    if (protocol)
      this.#connection?.sendReason(
        FrameType.KILL,
        this.#id,
        killReason('stream failed: bad ERROR frame'),
      );
    this.#fail(error);
  }

  /** @internal The instance left discovery while this call was in flight. */
  abandon(error: Error): void {
    if (this.#finished) return;
    this.#connection?.sendReason(FrameType.KILL, this.#id, killReason(error.message));
    this.lose(error, {
      kind: 'disconnect',
      message: error.message,
      origin: 'discovery',
      at: Date.now(),
    });
  }

  /** @internal The connection was lost: fail with `error`, kill the call's context. */
  lose(error: Error, reason: CancelReason | undefined): void {
    if (this.#finished) return;
    // Kill first, so that everything under the call's context learns of the loss, but
    // surface the loss (not a quiet end) to the reader.
    this.#loss = error;
    if (reason) this.context.kill(reason);
    this.#fail(error);
  }

  // ── context transitions ──

  #onContextStop(reason: CancelReason): void {
    if (this.#finished) return;
    // rootCause(reason), written out (docs/ARCHITECTURE.md, "The stop path runs cold").
    let root = reason;
    while (root.kind === 'parent' && root.cause) root = root.cause;
    const deadline = root.kind === 'deadline';
    if (this.#connection === undefined) {
      // Not sent yet: the handler never runs.
      this.#start = undefined;
      if (deadline)
        this.#fail(new DeadlineExceeded('the deadline passed before the request was sent'));
      else this.#finishQuietly();
      return;
    }
    if (!this.#propagate) {
      this.#detach();
      return;
    }
    this.#connection.sendReason(FrameType.STOP, this.#id, root);
    // A deadline is a hard bound for the caller: fail now rather than wait for the remote end.
    if (deadline)
      this.#fail(new DeadlineExceeded('the deadline passed before the stream finished'));
  }

  #onContextKill(reason: CancelReason): void {
    if (this.#finished) return;
    if (this.#loss !== undefined) {
      this.#fail(this.#loss);
      return;
    }
    this.#start = undefined;
    if (this.#connection !== undefined && !this.#propagate) {
      this.#detach();
      return;
    }
    this.#connection?.sendReason(FrameType.KILL, this.#id, rootCause(reason));
    // A kill means "nothing more": items that arrived but were not read yet are dropped too,
    // so the reader's loop ends at its next step (a stop, by contrast, lets them through).
    this.#items.length = 0;
    this.#head = 0;
    this.#finishQuietly();
  }

  // ── endings ──

  #take(): T {
    const item = this.#items[this.#head]!;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    }
    this.#consumed();
    return item;
  }

  #consumed(): void {
    if (this.#finished) return;
    this.#consumedSinceGrant++;
    this.#grantCredit();
  }

  #grantCredit(): void {
    if (this.#consumedSinceGrant * 2 >= this.window && this.#connection) {
      const grant = this.#consumedSinceGrant;
      this.#consumedSinceGrant = 0;
      this.#granted += grant;
      const bytes = Buffer.allocUnsafe(4);
      bytes.writeUInt32BE(grant, 0);
      this.#connection.control(FrameType.CREDIT, this.#id, bytes);
    }
  }

  #protocolError(message: string): void {
    this.#connection?.sendReason(
      FrameType.KILL,
      this.#id,
      killReason(`protocol error: ${message}`),
    );
    this.#fail(new ProtocolError(`stream ${this.#id}: ${message}`));
  }

  #fail(error: unknown): void {
    if (this.#finished) return;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) waiter.reject(error);
    else this.#error = error;
    this.#finish();
  }

  #finishQuietly(): void {
    if (this.#finished) return;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    this.#finish();
    waiter?.resolve(DONE);
  }

  #finish(): void {
    this.#finished = true;
    this.#start = undefined;
    if (this.#connection && !this.#detached) this.#connection.forget(this.#id);
    this.context.dispose();
  }

  /** Ends the stream for the reader but keeps reading (and dropping) until the remote end. */
  #detach(): void {
    this.#detached = true;
    const buffered = this.#items.length - this.#head;
    this.#connection?.countDetachedItems(buffered);
    this.#consumedSinceGrant += buffered;
    this.#items.length = 0;
    this.#head = 0;
    this.#grantCredit();
    this.#finishQuietly();
  }
}

/** A kill this side decides on its own (a failed or abandoned stream). */
function killReason(message: string): CancelReason {
  return { kind: 'kill', message, origin: 'local', at: Date.now() };
}
