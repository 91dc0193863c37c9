import net from 'node:net';
import { FrameDecoder } from '../../src/wire/decoder.js';
import { FrameEncoder } from '../../src/wire/encoder.js';
import { FrameType, PROTOCOL_VERSION } from '../../src/wire/frame.js';
import { encodeRequest } from '../../src/wire/payloads.js';

export interface RawFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** A hand-driven protocol peer over a real socket, for feeding a runtime bad input. */
export class RawPeer {
  readonly frames: RawFrame[] = [];
  closed = false;
  readonly #socket: net.Socket;
  readonly #encoder = new FrameEncoder();
  readonly #waiters = new Set<() => void>();

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    const decoder = new FrameDecoder(
      16 * 1024 * 1024,
      (type, flags, stream, payload) => {
        this.frames.push({ type, flags, stream, payload: Buffer.from(payload) });
        this.#wake();
      },
      () => {},
    );
    socket.on('data', (chunk) => decoder.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  static connect(address: string): Promise<RawPeer> {
    const colon = address.lastIndexOf(':');
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: address.slice(0, colon),
        port: Number(address.slice(colon + 1)),
      });
      socket.once('error', reject);
      socket.once('connect', () => resolve(new RawPeer(socket)));
    });
  }

  hello(fields: Record<string, unknown> = {}): void {
    this.frame(
      FrameType.HELLO,
      0,
      JSON.stringify({
        magic: 'andon',
        version: PROTOCOL_VERSION,
        instance: 'raw',
        heartbeatMs: 1000,
        maxFrame: 1 << 20,
        ...fields,
      }),
    );
  }

  request(stream: number, header: Record<string, unknown>, body: unknown): void {
    const payload = encodeRequest(
      { id: `raw-${stream}`, credit: 16, ...header } as never,
      JSON.stringify(body),
    );
    this.frame(FrameType.REQUEST, stream, payload);
  }

  frame(type: number, stream: number, payload?: string | Uint8Array, flags = 0): void {
    this.#encoder.frame(type, flags, stream, payload);
    this.#socket.write(this.#encoder.take());
  }

  bytes(data: Uint8Array): void {
    this.#socket.write(data);
  }

  /** Waits for a frame matching `match`, or for the connection to close. */
  async next(match: (frame: RawFrame) => boolean, timeoutMs = 3000): Promise<RawFrame | 'closed'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (this.closed) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching frame within ${timeoutMs} ms; got ${this.frames.map((f) => f.type).join(',')}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the connection to close; false if it is still open after `timeoutMs`. */
  async closedWithin(timeoutMs = 3000): Promise<boolean> {
    // No frame matches: `next` returns when the close wakes it, or throws at the bound.
    return (await this.next(() => false, timeoutMs).catch(() => undefined)) === 'closed';
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Stops reading from the socket (a caller that is not consuming), until {@link resume}. */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
    this.#waiters.clear();
  }
}

export function errorOf(frame: RawFrame | 'closed'): { code: string; message: string } {
  if (frame === 'closed') throw new Error('the connection closed without an ERROR frame');
  return JSON.parse(frame.payload.toString('utf8'));
}
