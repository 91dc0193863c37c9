import { type CancelReason, type Context, rootCause } from '@andon/context';
import { DeadlineExceeded, Disconnected, ProtocolError } from '../errors.js';
import { newNonce, proofMatches, proofOf } from '../shared-secret.js';
import type { ByteChannel } from '../transports/transport.js';
import { errorFromWire } from '../wire/errors-codec.js';
import { FLAG_BINARY, FrameType, frameName, MAGIC, PROTOCOL_VERSION } from '../wire/frame.js';
import {
  type Auth,
  encodeRequest,
  type Hello,
  parseError,
  parseJson,
  parseWelcome,
  type RequestHeader,
  type WireError,
} from '../wire/payloads.js';
import { Connection, type ConnectionOptions } from './connection.js';

export interface CallerOptions extends ConnectionOptions {
  /** The shared secret: when set, the responder must prove it holds it before any request. */
  token?: string;
  /** The address this connection was opened to, as discovery published it. */
  address: string;
}

/** Proof purposes (see shared-secret.ts): one for each side of the handshake. */
export const RESPONDER_PROOF = 'andon handshake v3: responder';
export const CALLER_PROOF = 'andon handshake v3: caller';

/** The calling side of a connection: opens streams and reads their responses. */
export class CallerConnection extends Connection {
  #nextStream = 1;
  readonly #streams = new Map<number, ResponseStream<unknown>>();
  #goingAway = false;
  /** Called once when this connection must no longer take new streams. */
  onRetire: (() => void) | undefined;

  // Set while a caller holding the secret waits for the responder's proof.
  #challenge: { nonce: string; settle(error?: Error): void } | undefined;
  /**
   * Resolves when requests may be sent: at once without a secret (requests follow HELLO
   * without waiting), after the responder proved it holds the secret with one. Rejects
   * with {@link Disconnected} when the handshake fails, so that nothing of a request
   * (its prompt, say) ever reaches a peer that could not prove it belongs.
   */
  readonly ready: Promise<void>;

  constructor(channel: ByteChannel, options: CallerOptions) {
    super(channel, options);
    const nonce = options.token === undefined ? undefined : newNonce();
    const hello: Hello = {
      magic: MAGIC,
      version: PROTOCOL_VERSION,
      instance: options.instanceId,
      heartbeatMs: options.heartbeatMs,
      maxFrame: options.maxFrame,
      ...(nonce === undefined ? {} : { nonce }),
    };
    if (nonce === undefined) this.ready = Promise.resolve();
    else {
      this.ready = new Promise((resolve, reject) => {
        this.#challenge = {
          nonce,
          settle: (error) => (error === undefined ? resolve() : reject(error)),
        };
      });
      // Whoever opened the connection awaits `ready`; this keeps an unawaited rejection quiet.
      this.ready.catch(() => {});
    }
    this.send(FrameType.HELLO, 0, JSON.stringify(hello), 0, true);
  }

  /** Sends the REQUEST for `stream` and starts routing its frames to it. */
  open(
    stream: ResponseStream<unknown>,
    header: Omit<RequestHeader, 'credit'>,
    body: unknown,
  ): number {
    const id = this.#nextStream++;
    const credit = stream.window;
    const binary = body instanceof Uint8Array;
    const bodyBytes = binary ? (body as Uint8Array) : JSON.stringify(body ?? null);
    const payload = encodeRequest({ ...header, credit }, bodyBytes);
    if (payload.length > this.maxPayload) {
      throw new ProtocolError(
        `the request is ${payload.length} bytes; the peer accepts frames of at most ${this.maxPayload + 6} bytes`,
      );
    }
    this.#streams.set(id, stream);
    this.options.stats.streamsCalled++;
    this.send(FrameType.REQUEST, id, payload, binary ? FLAG_BINARY : 0, true);
    return id;
  }

  /** Counts an item a detached call read and dropped. */
  countDetachedItems(count: number): void {
    this.options.stats.itemsDroppedAfterDetach += count;
  }

  /** Forgets a stream (finished, killed or failed); later frames for it are dropped. */
  forget(id: number): void {
    this.#streams.delete(id);
    if (this.#goingAway && this.#streams.size === 0) this.close(new Error('drained after GOAWAY'));
  }

  protected onConnectionFrame(type: number, payload: Uint8Array): void {
    if (type === FrameType.WELCOME) {
      try {
        const welcome = parseWelcome(payload);
        this.agreeLimits(welcome.heartbeatMs, welcome.maxFrame);
        if (this.#challenge !== undefined) this.#answer(welcome);
      } catch (error) {
        this.protocolFailure((error as Error).message);
      }
      return;
    }
    if (type === FrameType.GOAWAY) {
      this.#goingAway = true;
      this.onRetire?.();
      if (this.#streams.size === 0) this.close(new Error('peer sent GOAWAY'));
      return;
    }
    this.protocolFailure(`a caller does not accept ${frameName(type)}`);
  }

  protected onStreamFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      if (id >= this.#nextStream)
        this.protocolFailure(`${frameName(type)} for stream ${id}, which was never opened`);
      else this.options.stats.framesDropped++;
      return;
    }
    switch (type) {
      case FrameType.DATA:
        stream.receive(flags, payload);
        return;
      case FrameType.END:
        stream.end();
        return;
      case FrameType.ERROR: {
        let wire: WireError;
        try {
          wire = parseError(payload);
        } catch (error) {
          this.streamProtocolError(id, (error as Error).message);
          stream.fail(error as Error, true);
          return;
        }
        stream.fail(errorFromWire(wire), false);
        return;
      }
      default:
        this.protocolFailure(`a caller does not accept ${frameName(type)} frames`);
    }
  }

  protected onRemoteError(error: WireError): void {
    const failure = errorFromWire(error);
    this.log.warn(
      { peer: this.peer, code: error.code, problem: error.message },
      'peer closed the connection with an error',
    );
    this.close(failure);
    this.#failAll(failure, undefined);
  }

  protected onLost(error: Error, reason: CancelReason): void {
    const challenge = this.#challenge;
    this.#challenge = undefined;
    challenge?.settle(
      error instanceof Disconnected
        ? error
        : new Disconnected(`handshake with ${this.peer} failed: ${error.message}`, {
            cause: error,
          }),
    );
    this.onRetire?.();
    this.#failAll(error, reason);
  }

  /** Checks the responder's proof, then answers its challenge with this side's. */
  #answer(welcome: { nonce?: string; proof?: string; instance: string }): void {
    const options = this.options as CallerOptions;
    const secret = options.token!;
    const challenge = this.#challenge!;
    const expected =
      welcome.nonce === undefined
        ? undefined
        : proofOf(secret, RESPONDER_PROOF, challenge.nonce, welcome.nonce, options.address);
    if (expected === undefined || !proofMatches(expected, welcome.proof)) {
      throw new ProtocolError(
        welcome.proof === undefined
          ? `instance ${welcome.instance} at ${options.address} did not prove it holds the shared secret (it runs without one: give it the same token)`
          : `instance ${welcome.instance} at ${options.address} could not prove it holds the shared secret (the tokens differ, or it is not a peer of this deployment)`,
      );
    }
    const auth: Auth = {
      proof: proofOf(secret, CALLER_PROOF, welcome.nonce!, challenge.nonce, options.address),
    };
    this.send(FrameType.AUTH, 0, JSON.stringify(auth), 0, true);
    this.#challenge = undefined;
    challenge.settle();
  }

  #failAll(error: Error, reason: CancelReason | undefined): void {
    for (const stream of [...this.#streams.values()]) stream.lose(error, reason);
    this.#streams.clear();
  }

  /**
   * Used by streams to send CREDIT, at once so the producer resumes while this side is
   * still consuming. (STOP and KILL go by `sendReason`, also at once: latency is the point.)
   */
  control(type: number, id: number, payload: Uint8Array | undefined): void {
    this.send(type, id, payload, 0, true);
  }

  /** Decodes an item as the protocol says: JSON unless the BINARY flag is set. */
  static decodeItem(flags: number, payload: Uint8Array): unknown {
    if (flags & FLAG_BINARY) return payload.slice();
    return parseJson(payload, 'DATA item');
  }
}

type Waiter<T> = { resolve(result: IteratorResult<T>): void; reject(error: unknown): void };

const DONE: IteratorResult<never> = Object.freeze({ done: true, value: undefined });

/**
 * A response stream: an async iterable of items, plus the call's {@link Context}.
 *
 * - Leaving a `for await` loop early (break, return, throw) kills the remote request.
 * - `stream.context.stopGenerating()` stops it gracefully: items already on their way
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
 *   if (enough(item)) stream.context.stopGenerating();
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
    // rootCause(reason), written out: a stop runs cold, where every call costs.
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
