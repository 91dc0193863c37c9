import type { CancelReason } from '@andon/context';
import { Disconnected, ProtocolError } from '../errors.js';
import { newNonce, proofMatches, proofOf } from '../shared-secret.js';
import type { ByteChannel } from '../transports/transport.js';
import { errorFromWire } from '../wire/errors-codec.js';
import {
  FLAG_BINARY,
  FrameType,
  frameName,
  LENGTH_OVERHEAD,
  MAGIC,
  PROTOCOL_VERSION,
} from '../wire/frame.js';
import {
  type Auth,
  encodeRequest,
  type Hello,
  parseError,
  parseJson,
  parseWelcome,
  type RequestHeader,
  type Welcome,
  type WireError,
} from '../wire/payloads.js';
import { Connection, type ConnectionOptions } from './connection.js';
import { CALLER_PROOF, RESPONDER_PROOF } from './handshake-proof.js';
import type { ResponseStream } from './response-stream.js';

export interface CallerOptions extends ConnectionOptions {
  /** The shared secret: when set, the responder must prove it holds it before any request. */
  token?: string;
  /** The address this connection was opened to, as discovery published it. */
  address: string;
}

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
        `the request is ${payload.length} bytes; the peer accepts frames of at most ${this.maxPayload + LENGTH_OVERHEAD} bytes`,
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
  #answer(welcome: Welcome): void {
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
