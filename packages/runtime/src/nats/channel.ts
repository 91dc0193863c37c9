import type { Subscription } from '@nats-io/transport-node';
import { Disconnected } from '../errors.js';
import type { ByteChannel } from '../transports/transport.js';
import {
  ENVELOPE_BYTES,
  EnvelopeKind,
  encodeEnvelope,
  frameLimitFor,
  isPlainSubject,
  writeEnvelope,
} from './envelope.js';

/** A channel that can say how large a frame its carrier takes. */
export interface FrameLimitedChannel extends ByteChannel {
  /** The largest frame `length` that fits in one message of the carrier. */
  readonly maxFrame: number;
}

/** What a channel needs of the transport that carries it (a NatsTransport). */
export interface ChannelCarrier {
  /** True while the client is connected to a server. */
  readonly connected: boolean;
  /** Publishes one message; returns the error when it cannot be sent. */
  publish(subject: string, data: Uint8Array, reply: string | undefined): Error | undefined;
}

/**
 * One virtual connection: publishes on `out` with `reply` = its own subject, receives what
 * the transport routes to it, checks sequence numbers, and closes with a CLOSE message.
 */
export class NatsChannel implements FrameLimitedChannel {
  readonly maxFrame: number;
  /** Writes come with room for the envelope, which is filled in place. */
  readonly headroom = ENVELOPE_BYTES;
  readonly #maxBody: number;
  #sendSeq = 0;
  #recvSeq = 0;
  #onData: ((chunk: Uint8Array, from?: number) => void) | undefined;
  #onClose: ((error?: Error) => void) | undefined;
  #early: Uint8Array[] | undefined;
  #closed = false;
  #closeError: Error | undefined;

  /** @internal The subscription of this connection's own subject. */
  subscription: Subscription | undefined;
  /** @internal True until a caller has learned the responder's connection subject. */
  awaitingPeerSubject = false;

  constructor(
    private readonly transport: ChannelCarrier,
    private out: string,
    private readonly reply: string,
    readonly peer: string,
    maxPayload: number,
    private readonly onGone: () => void,
  ) {
    this.#maxBody = maxPayload - ENVELOPE_BYTES;
    this.maxFrame = frameLimitFor(maxPayload);
  }

  /** @internal The subject this connection publishes on now. */
  get publishesTo(): string {
    return this.out;
  }

  /** @internal From now on, publish where the responder asked (a reply subject it owns). */
  adoptPeerSubject(subject: string | undefined): void {
    this.awaitingPeerSubject = false;
    if (isPlainSubject(subject)) this.out = subject;
  }

  start(
    onData: (chunk: Uint8Array, from?: number) => void,
    onClose: (error?: Error) => void,
  ): void {
    this.#onData = onData;
    this.#onClose = onClose;
    const early = this.#early;
    this.#early = undefined;
    for (const chunk of early ?? []) {
      if (this.#closed) break;
      onData(chunk);
    }
    if (this.#closed) queueMicrotask(() => onClose(this.#closeError));
  }

  /** `bytes` starts with {@link headroom} spare bytes: the envelope goes there. */
  write(bytes: Uint8Array): void {
    if (this.#closed) return;
    if (bytes.length < ENVELOPE_BYTES) {
      throw new RangeError(
        `a write of ${bytes.length} bytes has no room for the ${ENVELOPE_BYTES}-byte headroom`,
      );
    }
    if (bytes.length - ENVELOPE_BYTES <= this.#maxBody) {
      // The usual case: one message, sent without a copy.
      writeEnvelope(bytes, EnvelopeKind.DATA, this.#sendSeq);
      this.#send(bytes);
      return;
    }
    for (let offset = ENVELOPE_BYTES; offset < bytes.length; offset += this.#maxBody) {
      const length = Math.min(this.#maxBody, bytes.length - offset);
      if (!this.#send(encodeEnvelope(EnvelopeKind.DATA, this.#sendSeq, bytes, offset, length)))
        return;
    }
  }

  #send(message: Uint8Array): boolean {
    this.#sendSeq = (this.#sendSeq + 1) >>> 0;
    const failed = this.transport.publish(this.out, message, this.reply);
    if (failed) this.lost(failed);
    return failed === undefined;
  }

  /** Bytes already written were published in order; CLOSE follows them. */
  end(): void {
    this.#finish(undefined, true);
  }

  destroy(): void {
    this.#finish(undefined, true);
  }

  /** @internal A message for this connection, its envelope checked. */
  receive(message: Uint8Array): void {
    if (this.#closed) return;
    if (message[0] === EnvelopeKind.CLOSE) {
      // Not sequence-checked: a refusal from a side that forgot the connection starts at 0.
      const why = new TextDecoder().decode(message.subarray(ENVELOPE_BYTES));
      this.#finish(new Error(why === '' ? 'the peer closed the connection' : why), false);
      return;
    }
    // readU32(message, 1), written out (docs/ARCHITECTURE.md, "The stop path runs cold").
    const seq =
      ((message[1]! << 24) | (message[2]! << 16) | (message[3]! << 8) | message[4]!) >>> 0;
    if (seq !== this.#recvSeq) {
      this.lost(
        new Disconnected(
          `messages from ${this.peer} were lost (expected #${this.#recvSeq}, got #${seq})`,
        ),
        true,
      );
      return;
    }
    this.#recvSeq = (this.#recvSeq + 1) >>> 0;
    if (message.length === ENVELOPE_BYTES) return;
    // The stream's bytes are passed in place, from the end of the envelope.
    if (this.#onData) this.#onData(message, ENVELOPE_BYTES);
    else (this.#early ??= []).push(message.slice(ENVELOPE_BYTES));
  }

  /** @internal The peer is gone or the link broke; `tell` sends CLOSE if it may be alive. */
  lost(error: Error, tell = false): void {
    this.#finish(error, tell);
  }

  #finish(error: Error | undefined, tell: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    if (tell && this.transport.connected) {
      // No reply subject: a CLOSE is never answered, so a dead peer costs no 503 either.
      // The body says why when this side found a fault (empty: an ordinary close).
      const why = Buffer.from(error?.message ?? '', 'utf8');
      this.transport.publish(
        this.out,
        encodeEnvelope(EnvelopeKind.CLOSE, this.#sendSeq, why),
        undefined,
      );
    }
    this.#early = undefined;
    this.onGone();
    const onClose = this.#onClose;
    if (onClose) queueMicrotask(() => onClose(error));
  }
}
