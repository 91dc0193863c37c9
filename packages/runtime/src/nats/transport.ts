/**
 * The NATS transport: andon's v1 byte stream carried in core NATS messages, so runtimes on
 * many hosts need nothing but a nats-server (2.9+). docs/PROTOCOL.md ("NATS") is the
 * specification. One connection's messages are channel.ts; the wire format is envelope.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Msg, NatsConnection, Status, Subscription } from '@nats-io/transport-node';
import { Disconnected, ProtocolError } from '../errors.js';
import type { Logger } from '../session/logger.js';
import type { ByteChannel, Transport } from '../transports/transport.js';
import { readU32 } from '../wire/bytes.js';
import { NatsChannel } from './channel.js';
import {
  callerSubject,
  DEFAULT_TRANSPORT_PREFIX,
  EnvelopeKind,
  encodeEnvelope,
  envelopeProblem,
  isPlainSubject,
  isToken,
  responderSubject,
  servedConnectionSubject,
} from './envelope.js';
import { isNatsConnection } from './options.js';
import { permissionAdvice, permissionRefusal } from './permissions.js';
import { checkSubjectPrefix } from './subject-prefix.js';

/** Options of {@link NatsTransport}. */
export interface NatsTransportOptions {
  /** The connection to carry channels on. The transport never closes it. */
  connection: NatsConnection;
  /** First token of every transport subject. Default `andon`. */
  subjectPrefix?: string;
  /** Where the transport reports lost server connections and bad messages. */
  logger?: Logger;
  /** How to name the server in messages (credentials already removed). */
  serverLabel?: string;
}

const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

/**
 * Carries andon connections over core NATS.
 *
 * - A responder holds one subscription, `<prefix>.v1.rt.<id>.*`, and publishes
 *   `<prefix>.v1.rt.<id>` as its address.
 * - A caller holds one subscription, `<prefix>.v1.in.<cid>.*`. Connection `n` to address A
 *   publishes on `A.<cid>-<n>` with reply `<prefix>.v1.in.<cid>.<n>`; the responder answers
 *   on that reply subject with its own subject as reply. So when either side's process is
 *   gone, the server answers the next message with a 503 no-responders status at once, and
 *   the other side learns that its peer is dead.
 * - Each message is a 5-byte envelope (kind, sequence number) and a piece of the v1 byte
 *   stream. A gap in the sequence (messages lost across a reconnect) ends the connection.
 * - Losing the server ends every connection (Disconnected); the client reconnects by itself
 *   and new connections work once it is back.
 *
 * @example
 * import { connect } from '@nats-io/transport-node';
 * import { Runtime } from '@andon/runtime';
 * import { NatsDiscovery, NatsTransport } from '@andon/runtime/nats';
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * const rt = await Runtime.start({
 *   transport: new NatsTransport({ connection: nc }),
 *   discovery: await NatsDiscovery.connect({ connection: nc }),
 * });
 * // … after rt.shutdown(): await nc.drain();
 * // Simpler: Runtime.start({ transport: 'nats', natsUrl: 'nats://127.0.0.1:4222' }).
 */
export class NatsTransport implements Transport {
  readonly name = 'nats';
  readonly connection: NatsConnection;
  /** This transport's id in its subjects. */
  readonly id = randomBytes(8).toString('hex');
  readonly subjectPrefix: string;
  readonly #log: Logger | undefined;
  readonly #server: string;
  readonly #served = new Map<string, NatsChannel>();
  readonly #called = new Map<string, NatsChannel>();
  #listenSub: Subscription | undefined;
  #onChannel: ((channel: ByteChannel) => void) | undefined;
  #status: (AsyncIterable<Status> & { stop(): void }) | undefined;
  #connected: boolean;
  #closed = false;
  #nextConnection = 1;

  constructor(options: NatsTransportOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('NatsTransport options must be an object');
    }
    const nc = options.connection;
    if (!isNatsConnection(nc)) {
      throw new TypeError(
        'options.connection must be a NatsConnection from @nats-io/transport-node',
      );
    }
    const prefix = checkSubjectPrefix(options.subjectPrefix ?? DEFAULT_TRANSPORT_PREFIX);
    this.connection = nc;
    this.subjectPrefix = prefix;
    this.#log = options.logger;
    this.#server = options.serverLabel ?? 'the NATS server';
    this.#connected = !nc.isClosed();
    this.#status = nc.status() as AsyncIterable<Status> & { stop(): void };
    void this.#followStatus(this.#status);
    nc.closed().then(
      () => this.#serverLost('the NATS connection closed'),
      () => this.#serverLost('the NATS connection closed'),
    );
  }

  /** The largest payload the server takes now (re-read after every reconnect). */
  get maxPayload(): number {
    return this.connection.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** True while the client is connected to a server. */
  get connected(): boolean {
    return this.#connected && !this.connection.isClosed();
  }

  listen(onChannel: (channel: ByteChannel) => void): Promise<string> {
    if (this.#closed) return Promise.reject(new Disconnected('the NATS transport is closed'));
    if (this.#listenSub) return Promise.reject(new Error('NatsTransport is already listening'));
    const address = responderSubject(this.subjectPrefix, this.id);
    this.#onChannel = onChannel;
    let refused: Disconnected | undefined;
    try {
      this.#listenSub = this.connection.subscribe(`${address}.*`, {
        callback: (error, msg) => {
          if (error) {
            refused = this.#subscriptionFailed(`${address}.*`, error);
            return;
          }
          try {
            this.#onServedMessage(address, msg);
          } catch (error) {
            this.#reportFailure(msg, error);
          }
        },
      });
    } catch (error) {
      return Promise.reject(this.#disconnected('cannot subscribe', error));
    }
    // Once the server has the subscription, callers who find the address can reach it. A
    // refusal comes back before the flush's answer, so serve() fails rather than goes deaf.
    return this.connection.flush().then(
      () => {
        if (refused === undefined) return address;
        this.#listenSub = undefined;
        throw refused;
      },
      (error: unknown) => {
        throw this.#disconnected('cannot subscribe', error);
      },
    );
  }

  connect(address: string): Promise<ByteChannel> {
    if (!isPlainSubject(address)) {
      return Promise.reject(
        new TypeError(`nats address must be a plain subject, got ${JSON.stringify(address)}`),
      );
    }
    if (this.#closed) return Promise.reject(new Disconnected('the NATS transport is closed'));
    if (!this.connected) {
      return Promise.reject(
        new Disconnected(`cannot reach ${address}: not connected to ${this.#server}`),
      );
    }
    const n = this.#nextConnection++;
    const out = `${address}.${this.id}-${n}`;
    const reply = `${callerSubject(this.subjectPrefix, this.id)}.${n}`;
    const channel = new NatsChannel(this, out, reply, out, this.maxPayload, () =>
      this.#forget(this.#called, reply),
    );
    // It publishes on the responder's address subject until the responder names its own.
    channel.awaitingPeerSubject = true;
    try {
      // Subscribed before the first publish, so the server has it when the answer comes.
      this.#subscribeOwn(channel, reply);
    } catch (error) {
      return Promise.reject(this.#disconnected(`cannot reach ${address}`, error));
    }
    this.#called.set(reply, channel);
    return Promise.resolve(channel);
  }

  /**
   * Stops accepting new connections; open ones go on until their owners close them. The
   * subscriptions end with the last connection; the NATS connection is left open.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#onChannel = undefined;
    this.#releaseIfIdle();
    return Promise.resolve();
  }

  // ── used by channels ──

  /** @internal Publishes one message; returns the error when it cannot be sent. */
  publish(subject: string, data: Uint8Array, reply: string | undefined): Error | undefined {
    try {
      this.connection.publish(subject, data, reply === undefined ? undefined : { reply });
      return undefined;
    } catch (error) {
      // Asked only now, not before each publish (docs/ARCHITECTURE.md, "The stop path runs cold").
      if (this.connection.isClosed())
        return new Disconnected(`the connection to ${this.#server} is closed`);
      return this.#disconnected(`cannot publish on ${subject}`, error);
    }
  }

  // ── inbound ──

  /**
   * Gives `channel` a subscription of its own on `subject`: its messages then reach it
   * without decoding their subject or looking it up (a cold TextDecoder call on every stop).
   */
  #subscribeOwn(channel: NatsChannel, subject: string): void {
    channel.subscription = this.connection.subscribe(subject, {
      callback: (error, msg) => {
        if (error) {
          channel.lost(this.#subscriptionFailed(subject, error));
          return;
        }
        try {
          this.#onOwnMessage(channel, msg);
        } catch (error) {
          this.#reportFailure(msg, error);
        }
      },
    });
  }

  #onOwnMessage(channel: NatsChannel, msg: Msg): void {
    if (isNoResponders(msg)) {
      // A message we sent with this subject as its reply found nobody: the peer is gone.
      channel.lost(new Disconnected(`nobody listens on ${channel.peer}: the peer is gone`));
      return;
    }
    const data = msg.data;
    if (!this.#wellFormed(msg, data, channel)) return;
    // A responder names its connection subject in the reply of its first message.
    if (channel.awaitingPeerSubject) channel.adoptPeerSubject(msg.reply);
    channel.receive(data);
  }

  /** Nothing a message causes may escape into the client's read loop: it is logged here. */
  #reportFailure(msg: Msg, error: unknown): void {
    this.#log?.error(
      { subject: msg.subject, problem: error instanceof Error ? error.message : String(error) },
      'nats transport: handling a message failed',
    );
  }

  #onServedMessage(address: string, msg: Msg): void {
    const subject = msg.subject;
    const existing = this.#served.get(subject);
    if (isNoResponders(msg)) {
      // A message we sent with this subject as its reply found nobody: the caller is gone.
      existing?.lost(
        new Disconnected(`the caller on ${existing.peer} is gone (NATS: no responders)`),
      );
      return;
    }
    const data = msg.data;
    if (!this.#wellFormed(msg, data, existing)) return;
    if (existing) {
      existing.receive(data);
      return;
    }
    const reply = msg.reply;
    if (data[0] === EnvelopeKind.CLOSE || !isPlainSubject(reply)) return;
    const token = subject.slice(address.length + 1);
    if (readU32(data, 1) !== 0 || !isToken(token)) {
      // A connection this side no longer knows (closed, or from before a reconnect).
      this.#refuse(reply, 'no such connection');
      return;
    }
    const accept = this.#onChannel;
    if (accept === undefined) {
      this.#refuse(reply, 'the responder is not accepting connections');
      return;
    }
    const own = servedConnectionSubject(this.subjectPrefix, this.id, token);
    const channel = new NatsChannel(this, reply, own, reply, this.maxPayload, () =>
      this.#forget(this.#served, subject),
    );
    // Messages the caller sends before it has seen `own` still come through the address
    // subscription (in order: one sender, one receiving connection), so both routes stay.
    this.#subscribeOwn(channel, own);
    this.#served.set(subject, channel);
    accept(channel);
    channel.receive(data);
  }

  /** True when `data` has a valid envelope; otherwise logs it and fails its connection. */
  #wellFormed(msg: Msg, data: Uint8Array, channel: NatsChannel | undefined): boolean {
    const problem = envelopeProblem(data);
    if (problem === undefined) return true;
    this.#log?.warn({ subject: msg.subject, problem }, 'nats transport: bad message');
    channel?.lost(new ProtocolError(`bad message from ${channel.peer}: ${problem}`), true);
    return false;
  }

  /** Tells the sender of a stray message that its connection does not exist here. */
  #refuse(reply: string, why: string): void {
    this.publish(reply, encodeEnvelope(EnvelopeKind.CLOSE, 0, Buffer.from(why)), undefined);
  }

  #forget(map: Map<string, NatsChannel>, key: string): void {
    const channel = map.get(key);
    map.delete(key);
    if (channel?.subscription && !this.connection.isClosed()) channel.subscription.unsubscribe();
    this.#releaseIfIdle();
  }

  #releaseIfIdle(): void {
    if (!this.#closed || this.#served.size > 0 || this.#called.size > 0) return;
    const open = !this.connection.isClosed();
    if (open) this.#listenSub?.unsubscribe();
    this.#listenSub = undefined;
    this.#status?.stop();
    this.#status = undefined;
  }

  // ── the client's own connection ──

  async #followStatus(status: AsyncIterable<Status>): Promise<void> {
    try {
      for await (const s of status) {
        if (s.type === 'disconnect') {
          this.#serverLost(`lost the connection to ${this.#server}`);
        } else if (s.type === 'reconnect') {
          this.#connected = true;
          this.#log?.info({ server: this.#server }, 'nats transport: reconnected');
        } else if (s.type === 'error') {
          this.#publishRefused(s.error);
        }
      }
    } catch {
      // The status stream ends with the connection; nothing to report beyond that.
    }
  }

  /**
   * The server refused a subscription (its permissions changed, or they never covered
   * it): nothing will arrive there. Logs it, naming what to grant; returns the error for
   * the connection that depended on it.
   */
  #subscriptionFailed(subject: string, error: Error): Disconnected {
    const advice = permissionRefusal(error) ? `: ${permissionAdvice([this.subjectPrefix])}` : '';
    const why = `NATS ended the subscription to ${subject} (${error.message})${advice}`;
    this.#log?.error({ server: this.#server, subject }, `nats transport: ${why}`);
    return new Disconnected(why);
  }

  /**
   * The server refused a publish: the message was dropped. The connection that published
   * there fails now rather than by silence, a few heartbeats later.
   */
  #publishRefused(error: unknown): void {
    const refusal = permissionRefusal(error);
    if (refusal === undefined || refusal.operation !== 'publish') return;
    const why = `NATS refused a publish to ${refusal.subject} (${refusal.message}): ${permissionAdvice([this.subjectPrefix])}`;
    // Refusals of others' subjects (discovery's) are theirs to report.
    const channels = [...this.#served.values(), ...this.#called.values()].filter(
      (channel) => channel.publishesTo === refusal.subject,
    );
    if (channels.length === 0) return;
    this.#log?.error({ server: this.#server, subject: refusal.subject }, `nats transport: ${why}`);
    for (const channel of channels) channel.lost(new Disconnected(why));
  }

  /** Every connection dies with the client's server connection; none survives a gap. */
  #serverLost(why: string): void {
    const wasConnected = this.#connected;
    this.#connected = false;
    const open = this.#served.size + this.#called.size;
    if (wasConnected && open > 0) {
      this.#log?.warn({ server: this.#server, connections: open }, `nats transport: ${why}`);
    }
    for (const channel of [...this.#served.values(), ...this.#called.values()]) {
      channel.lost(new Disconnected(`${why}; the connection to ${channel.peer} is lost`));
    }
  }

  #disconnected(what: string, error: unknown): Disconnected {
    const why = error instanceof Error ? error.message : String(error);
    return new Disconnected(`${what} over ${this.#server}: ${why}`, { cause: error });
  }
}

/** A server status saying that a message found no subscriber (503, "no responders"). */
function isNoResponders(msg: Msg): boolean {
  const headers = msg.headers;
  return headers !== undefined && (headers.code === 503 || headers.status === '503');
}
