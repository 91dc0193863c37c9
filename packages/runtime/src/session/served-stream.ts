import { type CancelReason, Context, rootCause } from '@andon/context';
import { errorToWire } from '../wire/errors-codec.js';
import { FLAG_BINARY, FrameType, LENGTH_OVERHEAD } from '../wire/frame.js';
import { MAX_CREDIT, type RequestHeader, type WireError } from '../wire/payloads.js';
import type { Handler } from './handler.js';
import type { ResponderConnection, ResponderHost } from './responder.js';
import { continueNextTurn, ITEMS_PER_LOOK, sliceLeft } from './turn-slice.js';

/**
 * One request being served: runs the handler under its own Context and pumps its items
 * out as credit allows. The pump is callback-driven rather than an async loop so that a
 * kill never waits for a handler stuck in an await.
 */
export class ServedStream {
  readonly context: Context;
  #credit: number;
  #iterator: AsyncIterator<unknown> | undefined;
  #pulling = false;
  /** Waiting for the next turn of the event loop to go on (see turn-slice.ts). */
  #waiting = false;
  #itemsSinceLook = 0;
  #closed = false;
  #stoppedByCaller = false;
  #cancellations: Record<string, number> | undefined;

  constructor(
    private readonly connection: ResponderConnection,
    readonly id: number,
    header: RequestHeader,
    private readonly tier: string,
    private readonly host: ResponderHost,
  ) {
    this.#credit = header.credit;
    this.context = new Context({
      id: header.id,
      ...(header.budgetMs === undefined ? {} : { timeoutMs: header.budgetMs }),
      ...(host.contextClock === undefined ? {} : { clock: host.contextClock }),
    });
  }

  start(handler: Handler, body: unknown, cancellations: Record<string, number>): void {
    this.#cancellations = cancellations;
    this.host.streamOpened(this);
    let result: unknown;
    try {
      result = handler(body, this.context);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (isAsyncIterable(result)) {
      this.#iterator = result[Symbol.asyncIterator]();
      this.#pull();
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        if (this.#closed) this.#release();
        else if (isAsyncIterable(value)) {
          // `async (req, ctx) => makeStream()` resolves to a stream: stream it.
          this.#iterator = value[Symbol.asyncIterator]();
          this.#pull();
        } else if (this.#sendItem(value)) this.#end();
      },
      (error: unknown) => {
        if (this.#closed) this.#release();
        else this.#fail(error);
      },
    );
  }

  grant(items: number): void {
    this.#credit = Math.min(this.#credit + items, MAX_CREDIT);
    if (!this.#pulling && !this.#waiting && this.#iterator !== undefined && !this.#closed) {
      this.#pull();
    }
  }

  stopByCaller(reason: CancelReason): void {
    if (!this.context.isStopped()) this.#stoppedByCaller = true;
    this.context.stop(reason);
  }

  killByCaller(reason: CancelReason): void {
    this.context.kill(reason);
    this.#abandon();
  }

  /** The connection is gone: kill the handler's context with kind `disconnect`. */
  lose(reason: CancelReason): void {
    this.context.kill(reason);
    this.#abandon();
  }

  /** Ends the stream with an error the runtime raised (e.g. a protocol error). */
  abort(error: WireError): void {
    if (this.#closed) return;
    this.connection.send(FrameType.ERROR, this.id, JSON.stringify(error), 0, true);
    this.context.kill({ kind: 'error', message: error.message });
    this.#abandon();
  }

  /** Shutdown: stop the handler (kind `shutdown`), later kill it. */
  stopForShutdown(message: string): void {
    this.context.stop({ kind: 'shutdown', message });
  }

  killForShutdown(message: string): void {
    if (this.#closed) return;
    this.context.kill({ kind: 'shutdown', message });
    this.#sendError(errorToWire(undefined, this.tier, this.context.reason), true);
    this.#abandon();
  }

  #pull(): void {
    const iterator = this.#iterator!;
    while (!this.#closed && this.#credit > 0 && !this.#pulling) {
      if (this.connection.congested) {
        // The caller granted credit but is not reading: wait for the socket, not the credit.
        this.#waiting = true;
        this.connection.whenDrained(this.#resume);
        return;
      }
      this.#pulling = true;
      let next: Promise<IteratorResult<unknown>>;
      try {
        next = iterator.next();
      } catch (error) {
        this.#pulling = false;
        this.#fail(error);
        return;
      }
      next.then(this.#onResult, this.#onError);
    }
  }

  readonly #onResult = (result: IteratorResult<unknown>): void => {
    this.#pulling = false;
    if (this.#closed) {
      this.#release();
      return;
    }
    if (result.done) {
      this.#end();
      return;
    }
    if (!this.#sendItem(result.value)) return;
    this.#credit--;
    // Out of credit, nothing more will be produced this turn: send what is queued now.
    if (this.#credit <= 0) this.connection.flush();
    else if (++this.#itemsSinceLook < ITEMS_PER_LOOK) this.#pull();
    else this.#pullWithinSlice();
  };

  /** Goes on now while the turn's slice lasts, else in the next turn (see turn-slice.ts). */
  #pullWithinSlice(): void {
    this.#itemsSinceLook = 0;
    if (sliceLeft()) this.#pull();
    else {
      this.#waiting = true;
      continueNextTurn(this.#resume);
    }
  }

  readonly #resume = (): void => {
    this.#waiting = false;
    if (!this.#closed) this.#pull();
  };

  readonly #onError = (error: unknown): void => {
    this.#pulling = false;
    if (this.#closed) {
      this.#release();
      return;
    }
    this.#fail(error);
  };

  #sendItem(value: unknown): boolean {
    let payload: string | Uint8Array;
    let flags = 0;
    if (value instanceof Uint8Array) {
      payload = value;
      flags = FLAG_BINARY;
    } else {
      try {
        const json = JSON.stringify(value);
        if (json === undefined) throw new Error(`${typeof value} is not a JSON value`);
        payload = json;
      } catch (error) {
        this.#fail(
          new Error(
            `the handler yielded an item that cannot be sent as JSON: ${(error as Error).message}`,
          ),
        );
        return false;
      }
    }
    const limit = this.connection.maxPayload;
    // Measuring UTF-8 costs a pass over the string; only long strings can be too big.
    const size =
      typeof payload === 'string'
        ? payload.length * 3 > limit
          ? Buffer.byteLength(payload)
          : 0
        : payload.length;
    if (size > limit) {
      this.#fail(
        new Error(
          `the handler yielded an item of ${size} bytes; the caller accepts frames of at most ${limit + LENGTH_OVERHEAD} bytes`,
        ),
      );
      return false;
    }
    this.connection.send(FrameType.DATA, this.id, payload, flags);
    return true;
  }

  #end(): void {
    // A stream cut short by anything but the caller's own stop is not complete.
    const reason = this.context.reason;
    if (reason !== undefined && (!this.#stoppedByCaller || rootCause(reason).kind === 'deadline')) {
      this.#sendError(errorToWire(undefined, this.tier, reason), false);
    } else {
      this.connection.send(FrameType.END, this.id);
    }
    this.#close();
  }

  #fail(error: unknown): void {
    if (this.#closed) return;
    this.#sendError(errorToWire(error, this.tier, this.context.reason), true);
    this.#finishAbnormally(true);
  }

  #sendError(error: WireError, urgent: boolean): void {
    if (error.code === 'ANDON_CANCELLED' && error.reason === undefined && this.context.reason) {
      error.reason = this.context.reason;
    }
    this.connection.send(FrameType.ERROR, this.id, JSON.stringify(error), 0, urgent);
  }

  /** Closes the stream now; the handler's context is disposed once it has let go. */
  #abandon(): void {
    if (this.#closed) return;
    this.#finishAbnormally(false);
  }

  /**
   * Ends a stream that did not complete. A generator suspended at a yield is returned so
   * its finally blocks run; a handler still running keeps its context until it settles.
   */
  #finishAbnormally(handlerSettled: boolean): void {
    this.#closed = true;
    this.connection.streamEnded(this.id);
    this.host.streamClosed(this);
    const iterator = this.#iterator;
    if (iterator === undefined) {
      if (handlerSettled) this.#release();
      return;
    }
    if (this.#pulling) return;
    if (iterator.return === undefined) {
      this.#release();
      return;
    }
    Promise.resolve()
      .then(() => iterator.return?.())
      .catch(() => {})
      .finally(() => this.#release());
  }

  #close(): void {
    this.#closed = true;
    this.connection.streamEnded(this.id);
    this.host.streamClosed(this);
    this.#release();
  }

  #release(): void {
    // Counted once the stream is over rather than in a stop callback, which would lengthen
    // the stop path (docs/ARCHITECTURE.md, "The stop path runs cold").
    const reason = this.context.reason;
    if (reason !== undefined && this.#cancellations !== undefined) {
      const kind = rootCause(reason).kind;
      this.#cancellations[kind] = (this.#cancellations[kind] ?? 0) + 1;
    }
    this.#cancellations = undefined;
    this.context.dispose();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}
