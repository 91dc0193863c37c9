import { Disconnected } from '../errors.js';
import type { ByteChannel, Transport } from './transport.js';

const listeners = new Map<string, MemoryTransport>();
let nextAddress = 1;

/**
 * In-process channels carrying the same bytes TCP would, delivered asynchronously and in
 * order. For tests and single-process apps. `freeze()`/`thaw()`/`crash()` simulate a
 * stopped or dead peer.
 */
export class MemoryTransport implements Transport {
  readonly name = 'memory';
  #onChannel: ((channel: ByteChannel) => void) | undefined;
  #address: string | undefined;
  readonly #ends = new Set<MemoryEnd>();

  listen(onChannel: (channel: ByteChannel) => void): Promise<string> {
    this.#onChannel = onChannel;
    this.#address = `mem-${process.pid}-${nextAddress++}`;
    listeners.set(this.#address, this);
    return Promise.resolve(this.#address);
  }

  connect(address: string): Promise<ByteChannel> {
    const target = listeners.get(address);
    const accept = target === undefined ? undefined : target.#onChannel;
    if (target === undefined || accept === undefined) {
      return Promise.reject(new Disconnected(`no in-memory listener at ${address}`));
    }
    const [local, remote] = MemoryEnd.pair(address, 'memory-caller');
    this.#track(local);
    target.#track(remote);
    accept(remote);
    return Promise.resolve(local);
  }

  close(): Promise<void> {
    if (this.#address) listeners.delete(this.#address);
    this.#onChannel = undefined;
    return Promise.resolve();
  }

  /** Test hook: stop delivering bytes in both directions on every channel, like SIGSTOP. */
  freeze(): void {
    for (const end of this.#ends) end.frozen = true;
  }

  /** Test hook: resume delivery (bytes queued while frozen arrive now). */
  thaw(): void {
    for (const end of this.#ends) {
      end.frozen = false;
      end.flushSoon();
      end.peerEnd?.flushSoon();
    }
  }

  /** Test hook: drop every channel at once, like a process that died. */
  crash(): void {
    if (this.#address) listeners.delete(this.#address);
    this.#onChannel = undefined;
    for (const end of [...this.#ends]) end.destroy();
  }

  #track(end: MemoryEnd): void {
    this.#ends.add(end);
    end.onGone = () => this.#ends.delete(end);
  }
}

class MemoryEnd implements ByteChannel {
  peerEnd: MemoryEnd | undefined;
  frozen = false;
  onGone: (() => void) | undefined;
  #onData: ((chunk: Uint8Array) => void) | undefined;
  #onClose: ((error?: Error) => void) | undefined;
  #inbox: Uint8Array[] = [];
  #scheduled = false;
  #closed = false;

  private constructor(readonly peer: string) {}

  static pair(address: string, callerName: string): [MemoryEnd, MemoryEnd] {
    const a = new MemoryEnd(address);
    const b = new MemoryEnd(callerName);
    a.peerEnd = b;
    b.peerEnd = a;
    return [a, b];
  }

  start(onData: (chunk: Uint8Array) => void, onClose: (error?: Error) => void): void {
    this.#onData = onData;
    this.#onClose = onClose;
    this.flushSoon();
  }

  write(bytes: Uint8Array): void {
    const peer = this.peerEnd;
    if (this.#closed || !peer || peer.#closed) return;
    peer.#inbox.push(bytes);
    peer.flushSoon();
  }

  end(): void {
    const peer = this.peerEnd;
    // Deliver what is queued, then close both ends.
    queueMicrotask(() => {
      if (peer !== undefined) peer.#deliver();
      this.destroy();
    });
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox = [];
    this.onGone?.();
    const peer = this.peerEnd;
    this.peerEnd = undefined;
    queueMicrotask(() => this.#onClose?.());
    if (peer && !peer.#closed) peer.destroy();
  }

  flushSoon(): void {
    if (this.#scheduled || this.frozen || (this.peerEnd?.frozen ?? false)) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#deliver();
    });
  }

  #deliver(): void {
    if (this.#closed || !this.#onData || this.frozen || this.peerEnd?.frozen) return;
    const inbox = this.#inbox;
    this.#inbox = [];
    for (const chunk of inbox) {
      if (this.#closed) return;
      this.#onData(chunk);
    }
  }
}
