import type { CancelReason, Clock } from '@andon/context';
import { Disconnected, ProtocolError } from '../errors.js';
import { RepeatingTimer } from '../time/repeating-timer.js';
import type { ByteChannel } from '../transports/transport.js';
import { FrameDecoder } from '../wire/decoder.js';
import { FrameEncoder } from '../wire/encoder.js';
import {
  CONNECTION_FRAMES,
  FLAG_BINARY,
  FrameType,
  frameName,
  KNOWN_FLAGS,
  LENGTH_OVERHEAD,
} from '../wire/frame.js';
import { parseError, type WireError } from '../wire/payloads.js';
import type { Logger } from './logger.js';
import type { RuntimeStats } from './stats.js';

export interface ConnectionOptions {
  /** This runtime's instance id. */
  instanceId: string;
  heartbeatMs: number;
  missedHeartbeats: number;
  /** Times heartbeats and silences (the runtime's `clock`). */
  clock: Clock;
  maxFrame: number;
  log: Logger;
  stats: RuntimeStats;
}

// Flushing data on the next macrotask lets every frame produced in this turn leave in one
// write; control frames (STOP, KILL, PONG, ERROR) flush at once because latency is the point.
const FLUSH_THRESHOLD = 32 * 1024;

/**
 * What both ends of a connection share: framing, coalesced writes, heartbeats, and the rule
 * that a lost peer kills every stream on the connection.
 */
export abstract class Connection {
  readonly #encoder: FrameEncoder;
  readonly #decoder: FrameDecoder;
  #flushScheduled = false;
  #lastReceived: number;
  // Set by every chunk received (#heard) and every write (#wrote), and turned into times by
  // the liveness check, so that neither path reads a clock (docs/ARCHITECTURE.md, "The stop
  // path runs cold").
  #heard = false;
  #lastSent: number;
  #wrote = false;
  #heartbeat: RepeatingTimer | undefined;
  #heartbeatMs: number;
  #closed = false;
  // The channel holds more unsent bytes than it wants: producers wait for its drain.
  #congested = false;
  #drainWaiters: (() => void)[] = [];
  #peerMaxFrame: number;
  protected readonly log: Logger;
  /** Called once when the connection has closed, for whoever pools or tracks it. */
  onClosed: (() => void) | undefined;

  constructor(
    protected readonly channel: ByteChannel,
    protected readonly options: ConnectionOptions,
  ) {
    this.log = options.log;
    this.#lastReceived = this.#lastSent = options.clock.now();
    this.#heartbeatMs = options.heartbeatMs;
    this.#peerMaxFrame = options.maxFrame;
    this.#encoder = new FrameEncoder(channel.headroom ?? 0);
    this.#decoder = new FrameDecoder(
      options.maxFrame,
      (type, flags, stream, payload) => this.#onFrame(type, flags, stream, payload),
      (message) => this.protocolFailure(message),
    );
    options.stats.connectionsOpened++;
    channel.start(
      (chunk, from) => {
        this.#heard = true;
        this.#decoder.push(chunk, from);
      },
      (error) => this.#onChannelClosed(error),
    );
    this.#armHeartbeat();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get peer(): string {
    return this.channel.peer;
  }

  /** Queues a frame; `urgent` frames leave now, others with the next coalesced write. */
  send(
    type: number,
    stream: number,
    payload?: string | Uint8Array,
    flags = 0,
    urgent = false,
  ): void {
    if (this.#closed) return;
    this.#encoder.frame(type, flags, stream, payload);
    if (urgent || this.#encoder.pendingBytes >= FLUSH_THRESHOLD) this.flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends a STOP or KILL frame carrying `reason` at once. */
  sendReason(type: number, stream: number, reason: CancelReason): void {
    if (this.#closed) return;
    this.#encoder.reasonFrame(type, stream, reason);
    this.flush();
  }

  flush(): void {
    this.#flushScheduled = false;
    if (this.#closed || this.#encoder.pendingBytes === 0) return;
    this.#wrote = true;
    if (this.channel.write(this.#encoder.take()) === false && !this.#congested) {
      if (this.channel.onDrain === undefined) return;
      this.#congested = true;
      this.options.stats.congestions++;
      this.channel.onDrain(() => this.#drained());
    }
  }

  /**
   * True while the peer is not reading what was sent: producers hold back (control frames
   * still go) until {@link whenDrained} calls them back.
   */
  get congested(): boolean {
    return this.#congested;
  }

  /** Calls `callback` once the connection is no longer congested (never, if it closes first). */
  whenDrained(callback: () => void): void {
    if (this.#congested) this.#drainWaiters.push(callback);
    else queueMicrotask(callback);
  }

  #drained(): void {
    this.#congested = false;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) {
      if (this.#closed || this.#congested) {
        // A waiter's writes congested the channel again: the rest wait for the next drain.
        if (!this.#closed) this.#drainWaiters.push(waiter);
        continue;
      }
      waiter();
    }
  }

  /** Whether anything has come from the peer in the last `ms` (to within a liveness check). */
  heardWithin(ms: number): boolean {
    return this.#heard || this.options.clock.now() - this.#lastReceived < ms;
  }

  /** The largest payload the peer accepts (its announced frame limit, less the header). */
  get maxPayload(): number {
    return this.#peerMaxFrame - LENGTH_OVERHEAD;
  }

  /** Records the peer's limits from its HELLO or WELCOME. */
  protected agreeLimits(peerHeartbeatMs: number, peerMaxFrame: number): void {
    this.#peerMaxFrame = peerMaxFrame;
    this.agreeHeartbeat(peerHeartbeatMs);
  }

  /** Adopts the peer's heartbeat interval when it is longer than ours. */
  protected agreeHeartbeat(peerHeartbeatMs: number): void {
    if (peerHeartbeatMs > this.#heartbeatMs) {
      this.#heartbeatMs = peerHeartbeatMs;
      this.#armHeartbeat();
    }
  }

  /** A frame the connection cannot survive: say why, count it, close. */
  protected protocolFailure(message: string): void {
    if (this.#closed) return;
    this.options.stats.protocolErrors++;
    this.log.warn({ peer: this.peer, problem: message }, 'protocol error: closing connection');
    this.#decoder.fail();
    const error: WireError = { code: 'ANDON_PROTOCOL_ERROR', message };
    this.send(FrameType.ERROR, 0, JSON.stringify(error), 0, true);
    this.#shutdown(new ProtocolError(`connection to ${this.peer} closed: ${message}`), true);
  }

  /** A problem confined to one stream: counted and logged; the caller answers it. */
  protected streamProtocolError(stream: number, message: string): void {
    this.options.stats.protocolErrors++;
    this.log.warn({ peer: this.peer, stream, problem: message }, 'protocol error on stream');
  }

  /** Closes the connection on purpose (shutdown, idle, or a failed handshake). */
  close(error: Error): void {
    this.#shutdown(error, true);
  }

  /**
   * Called once, after the connection has closed (on purpose or not): ends every stream on
   * it, failing the caller's with `error` and killing the handlers' contexts with `reason`.
   */
  protected abstract onLost(error: Error, reason: CancelReason): void;
  protected abstract onStreamFrame(
    type: number,
    flags: number,
    stream: number,
    payload: Uint8Array,
  ): void;
  protected abstract onConnectionFrame(type: number, payload: Uint8Array): void;
  protected abstract onRemoteError(error: WireError): void;

  #onFrame(type: number, flags: number, stream: number, payload: Uint8Array): void {
    if (this.#closed) return;
    // The common case, a well-formed stream frame (REQUEST … CREDIT), straight through.
    if (
      stream !== 0 &&
      type >= FrameType.REQUEST &&
      type <= FrameType.CREDIT &&
      (flags === 0 || (flags === FLAG_BINARY && carriesBody(type)))
    ) {
      this.onStreamFrame(type, flags, stream, payload);
      return;
    }
    if (type < FrameType.HELLO || type > FrameType.AUTH) {
      this.protocolFailure(`unknown frame type ${frameName(type)}`);
      return;
    }
    if ((flags & ~KNOWN_FLAGS) !== 0 || ((flags & FLAG_BINARY) !== 0 && !carriesBody(type))) {
      this.protocolFailure(`unknown flags 0x${flags.toString(16)} on ${frameName(type)}`);
      return;
    }
    if (type === FrameType.ERROR && stream === 0) {
      let error: WireError;
      try {
        error = parseError(payload);
      } catch (e) {
        this.protocolFailure((e as Error).message);
        return;
      }
      this.onRemoteError(error);
      return;
    }
    const connectionFrame = CONNECTION_FRAMES.has(type);
    if (connectionFrame !== (stream === 0)) {
      this.protocolFailure(
        connectionFrame
          ? `${frameName(type)} must be sent on stream 0, got stream ${stream}`
          : `${frameName(type)} must be sent on a stream, got stream 0`,
      );
      return;
    }
    if (type === FrameType.PING) {
      this.send(FrameType.PONG, 0, payload, 0, true);
      return;
    }
    if (type === FrameType.PONG) return;
    if (connectionFrame) this.onConnectionFrame(type, payload);
    else this.onStreamFrame(type, flags, stream, payload);
  }

  #armHeartbeat(): void {
    this.#heartbeat?.stop();
    // Checked four times per interval: a silent peer is found within missed + ½ intervals
    // (a chunk is timed by the first check after it), an idle side pings within 1¼.
    this.#heartbeat = new RepeatingTimer(
      this.options.clock,
      Math.max(1, this.#heartbeatMs / 4),
      () => this.#checkLiveness(),
    );
  }

  #checkLiveness(): void {
    if (this.#closed) return;
    const now = this.options.clock.now();
    if (this.#heard) {
      this.#heard = false;
      this.#lastReceived = now;
    }
    if (this.#wrote) {
      this.#wrote = false;
      this.#lastSent = now;
    }
    const silentFor = now - this.#lastReceived;
    if (silentFor > this.#heartbeatMs * this.options.missedHeartbeats) {
      this.log.warn(
        { peer: this.peer, silentMs: Math.round(silentFor) },
        'peer missed heartbeats: declaring it lost',
      );
      this.#shutdown(
        new Disconnected(`peer ${this.peer} sent nothing for ${Math.round(silentFor)} ms`),
        false,
        `peer ${this.peer} missed ${this.options.missedHeartbeats} heartbeats`,
      );
      return;
    }
    if (now - this.#lastSent >= this.#heartbeatMs) {
      const nonce = Buffer.allocUnsafe(8);
      nonce.writeDoubleBE(now, 0);
      this.send(FrameType.PING, 0, nonce, 0, true);
    }
  }

  #onChannelClosed(error?: Error): void {
    if (this.#closed) return;
    const message = `connection to ${this.peer} closed${error ? `: ${error.message}` : ''}`;
    this.#shutdown(new Disconnected(message, { cause: error }), false, message);
  }

  #shutdown(error: Error, flushFirst: boolean, lostMessage?: string): void {
    if (this.#closed) return;
    if (flushFirst) this.flush();
    this.#closed = true;
    // What it held of an unfinished frame counts against the process's bound.
    this.#decoder.fail();
    this.#drainWaiters = [];
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    if (flushFirst) this.channel.end();
    else {
      this.options.stats.connectionsLost++;
      this.channel.destroy();
    }
    const reason: CancelReason = Object.freeze({
      kind: 'disconnect',
      message: lostMessage ?? error.message,
      origin: this.options.instanceId,
      at: Date.now(),
    });
    this.onLost(error, reason);
    this.onClosed?.();
  }
}

function carriesBody(type: number): boolean {
  return type === FrameType.REQUEST || type === FrameType.DATA;
}
