import { type CancelReason, Context, rootCause } from '@andon/context';
import { newNonce, proofMatches, proofOf } from '../shared-secret.js';
import type { ByteChannel } from '../transports/transport.js';
import { readU32 } from '../wire/bytes.js';
import { errorToWire } from '../wire/errors-codec.js';
import { FLAG_BINARY, FrameType, frameName, PROTOCOL_VERSION } from '../wire/frame.js';
import {
  decodeRequest,
  MAX_CREDIT,
  parseAuth,
  parseHello,
  parseJson,
  type RequestHeader,
  type Welcome,
  type WireError,
} from '../wire/payloads.js';
import { decodeReason, releaseDecodedReason } from '../wire/reason-codec.js';
import { CALLER_PROOF, RESPONDER_PROOF } from './caller.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { continueNextTurn, ITEMS_PER_LOOK, sliceLeft } from './turn-slice.js';

/**
 * A request handler: gets the request and its incoming Context; returns an async iterable
 * (a stream), a promise of one, or a value / promise of a value (a single response).
 */
export type Handler<Req = unknown, Item = unknown> = (
  request: Req,
  context: Context,
) => AsyncIterable<Item> | Promise<AsyncIterable<Item>> | Promise<Item> | Item;

/** What a responder needs from the runtime. */
export interface ResponderHost {
  /** The handler serving `namespace/component/endpoint`, if this instance serves it. */
  handlerFor(endpoint: string): Handler | undefined;
  /** Label for errors raised here, e.g. `demo/server@a1b2`. */
  tierOf(endpoint: string): string;
  /** Called when a stream begins and ends, for graceful shutdown accounting. */
  streamOpened(stream: ServedStream): void;
  streamClosed(stream: ServedStream): void;
  readonly maxStreams: number;
  readonly activeStreams: number;
}

export interface ResponderOptions extends ConnectionOptions {
  /** The shared secret: when set, a caller must prove it holds it before any request. */
  token?: string;
  /** The address this responder is published at (what callers prove themselves against). */
  address: string;
  /** How long a connection may take to finish its handshake. */
  helloTimeoutMs?: number;
}

const HELLO_TIMEOUT_MS = 5000;

/** The responding side of a connection: runs handlers for the streams a caller opens. */
export class ResponderConnection extends Connection {
  #hello = false;
  // With a secret: the challenge sent in WELCOME, until the caller's AUTH answers it.
  #challenge: { caller: string; responder: string } | undefined;
  #highestStream = 0;
  readonly #streams = new Map<number, ServedStream>();
  #helloTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    channel: ByteChannel,
    options: ResponderOptions,
    private readonly host: ResponderHost,
  ) {
    super(channel, options);
    this.#helloTimer = setTimeout(() => {
      if (!this.#hello) this.protocolFailure('no HELLO within the handshake timeout');
      else if (this.#challenge) this.protocolFailure('no AUTH within the handshake timeout');
    }, options.helloTimeoutMs ?? HELLO_TIMEOUT_MS);
    this.#helloTimer.unref();
  }

  /** Tells the caller to open no new streams here; in-flight ones may finish. */
  goAway(message: string): void {
    this.send(FrameType.GOAWAY, 0, JSON.stringify({ message }), 0, true);
  }

  protected onConnectionFrame(type: number, payload: Uint8Array): void {
    if (type === FrameType.AUTH) {
      this.#onAuth(payload);
      return;
    }
    if (type !== FrameType.HELLO) {
      this.protocolFailure(`a responder does not accept ${frameName(type)}`);
      return;
    }
    if (this.#hello) {
      this.protocolFailure('a second HELLO on the same connection');
      return;
    }
    try {
      const hello = parseHello(payload);
      if (hello.version !== PROTOCOL_VERSION) {
        throw new Error(
          `unsupported protocol version ${hello.version}; this peer speaks version ${PROTOCOL_VERSION}`,
        );
      }
      const { token: secret, address } = this.options as ResponderOptions;
      if (secret !== undefined && hello.nonce === undefined) {
        throw new Error(
          'this instance requires callers to hold the shared secret, and the caller has none (give it the same token)',
        );
      }
      this.#hello = true;
      this.agreeLimits(hello.heartbeatMs, hello.maxFrame);
      const welcome: Welcome = {
        version: PROTOCOL_VERSION,
        instance: this.options.instanceId,
        heartbeatMs: this.options.heartbeatMs,
        maxFrame: this.options.maxFrame,
      };
      if (secret === undefined) clearTimeout(this.#helloTimer);
      else {
        this.#challenge = { caller: hello.nonce!, responder: newNonce() };
        welcome.nonce = this.#challenge.responder;
        welcome.proof = proofOf(secret, RESPONDER_PROOF, hello.nonce!, welcome.nonce, address);
      }
      this.send(FrameType.WELCOME, 0, JSON.stringify(welcome), 0, true);
    } catch (error) {
      this.protocolFailure(`bad handshake: ${(error as Error).message}`);
    }
  }

  /** The caller's answer to this side's challenge: the last step before any request. */
  #onAuth(payload: Uint8Array): void {
    const challenge = this.#challenge;
    if (challenge === undefined) {
      this.protocolFailure(this.#hello ? 'AUTH that answers no challenge' : 'AUTH before HELLO');
      return;
    }
    try {
      const { token: secret, address } = this.options as ResponderOptions;
      const expected = proofOf(
        secret!,
        CALLER_PROOF,
        challenge.responder,
        challenge.caller,
        address,
      );
      if (!proofMatches(expected, parseAuth(payload).proof)) {
        throw new Error(
          'the caller could not prove it holds the shared secret (the tokens differ)',
        );
      }
      this.#challenge = undefined;
      clearTimeout(this.#helloTimer);
    } catch (error) {
      this.protocolFailure(`bad handshake: ${(error as Error).message}`);
    }
  }

  protected onStreamFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (!this.#hello || this.#challenge !== undefined) {
      this.protocolFailure(`${frameName(type)} before ${this.#hello ? 'AUTH' : 'HELLO'}`);
      return;
    }
    if (type === FrameType.REQUEST) {
      this.#onRequest(id, flags, payload);
      return;
    }
    const stream = this.#streams.get(id);
    if (type === FrameType.STOP || type === FrameType.KILL || type === FrameType.CREDIT) {
      if (stream === undefined) {
        if (id > this.#highestStream)
          this.protocolFailure(`${frameName(type)} for stream ${id}, which was never opened`);
        else this.options.stats.framesDropped++;
        return;
      }
      try {
        if (type === FrameType.CREDIT) {
          if (payload.length !== 4) throw new Error('CREDIT payload must be 4 bytes');
          stream.grant(readU32(payload, 0));
        } else if (type === FrameType.STOP) {
          stream.stopByCaller(decodeReason(payload, 'STOP'));
        } else {
          stream.killByCaller(decodeReason(payload, 'KILL'));
        }
      } catch (error) {
        this.streamProtocolError(id, (error as Error).message);
        stream.abort({ code: 'ANDON_PROTOCOL_ERROR', message: (error as Error).message });
      } finally {
        releaseDecodedReason();
      }
      return;
    }
    this.protocolFailure(`a responder does not accept ${frameName(type)} frames`);
  }

  protected onRemoteError(error: WireError): void {
    this.log.warn(
      { peer: this.peer, code: error.code, problem: error.message },
      'caller closed the connection with an error',
    );
    this.close(new Error(error.message));
  }

  protected onLost(_error: Error, reason: CancelReason): void {
    clearTimeout(this.#helloTimer);
    for (const stream of [...this.#streams.values()]) stream.lose(reason);
    this.#streams.clear();
  }

  /** @internal */
  streamEnded(id: number): void {
    this.#streams.delete(id);
  }

  #onRequest(id: number, flags: number, payload: Uint8Array): void {
    if (id <= this.#highestStream) {
      this.#refuse(id, `REQUEST reuses stream number ${id}`);
      return;
    }
    this.#highestStream = id;
    let header: RequestHeader;
    let body: unknown;
    try {
      const decoded = decodeRequest(payload);
      header = decoded.header;
      body =
        flags & FLAG_BINARY
          ? new Uint8Array(decoded.body)
          : parseJson(decoded.body, 'REQUEST body');
    } catch (error) {
      this.#refuse(id, (error as Error).message);
      return;
    }
    const handler = this.host.handlerFor(header.endpoint);
    const tier = this.host.tierOf(header.endpoint);
    if (handler === undefined) {
      this.#answer(id, {
        code: 'ANDON_NO_INSTANCES',
        message: `this instance does not serve ${header.endpoint}`,
        tier,
      });
      return;
    }
    if (this.host.activeStreams >= this.host.maxStreams) {
      this.#answer(id, {
        code: 'ANDON_OVERLOADED',
        message: `at capacity (${this.host.maxStreams} streams)`,
        tier,
      });
      return;
    }
    if (header.budgetMs !== undefined && header.budgetMs <= 0) {
      this.#answer(id, {
        code: 'ANDON_DEADLINE_EXCEEDED',
        message: 'the deadline passed before the request arrived',
        tier,
      });
      return;
    }
    const stream = new ServedStream(this, id, header, tier, this.host);
    this.#streams.set(id, stream);
    this.options.stats.streamsServed++;
    stream.start(handler, body, this.options.stats.handlerCancellations);
  }

  #refuse(id: number, message: string): void {
    this.streamProtocolError(id, message);
    this.#answer(id, { code: 'ANDON_PROTOCOL_ERROR', message });
  }

  #answer(id: number, error: WireError): void {
    this.send(FrameType.ERROR, id, JSON.stringify(error), 0, true);
  }
}

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
          `the handler yielded an item of ${size} bytes; the caller accepts frames of at most ${limit + 6} bytes`,
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
    // Counted once the stream is over rather than in a stop callback: the stop path runs
    // once per request, cold, and every callback on it is latency.
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
