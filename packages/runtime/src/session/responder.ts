import type { CancelReason, Clock, TimerHandle } from '@andon/context';
import { newNonce, proofMatches, proofOf } from '../shared-secret.js';
import type { ByteChannel } from '../transports/transport.js';
import { readU32 } from '../wire/bytes.js';
import { FLAG_BINARY, FrameType, frameName, PROTOCOL_VERSION } from '../wire/frame.js';
import {
  decodeRequest,
  parseAuth,
  parseHello,
  parseJson,
  type RequestHeader,
  type Welcome,
  type WireError,
} from '../wire/payloads.js';
import { decodeReason, releaseDecodedReason } from '../wire/reason-codec.js';
import { Connection, type ConnectionOptions } from './connection.js';
import type { Handler } from './handler.js';
import { CALLER_PROOF, RESPONDER_PROOF } from './handshake-proof.js';
import { ServedStream } from './served-stream.js';

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
  /** The clock handlers' contexts keep time by, when the runtime was given one. */
  readonly contextClock: Clock | undefined;
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
  #helloTimer: TimerHandle | undefined;

  constructor(
    channel: ByteChannel,
    options: ResponderOptions,
    private readonly host: ResponderHost,
  ) {
    super(channel, options);
    this.#helloTimer = options.clock.setTimer(() => {
      this.#helloTimer = undefined;
      if (!this.#hello) this.protocolFailure('no HELLO within the handshake timeout');
      else if (this.#challenge) this.protocolFailure('no AUTH within the handshake timeout');
    }, options.helloTimeoutMs ?? HELLO_TIMEOUT_MS);
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
      if (secret === undefined) this.#clearHelloTimer();
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
      this.#clearHelloTimer();
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
    this.#clearHelloTimer();
    for (const stream of [...this.#streams.values()]) stream.lose(reason);
    this.#streams.clear();
  }

  #clearHelloTimer(): void {
    if (this.#helloTimer !== undefined) this.options.clock.clearTimer(this.#helloTimer);
    this.#helloTimer = undefined;
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
