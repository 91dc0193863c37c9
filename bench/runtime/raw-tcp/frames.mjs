// The baseline's wire: [u32 length][u8 type][u32 stream][payload], length counting
// type + stream + payload. Many streams share one connection.

export const REQUEST = 1;
export const DATA = 2;
export const END = 3;
export const STOP = 4;

const HEAD = 9;
const CAPACITY = 64 * 1024;
const MAX_FRAME = 16 * 1024 * 1024;

/**
 * Coalesces frames into one buffer and writes it once per microtask checkpoint, so a burst
 * of small frames costs one write() while a lone frame (a stop) still leaves at once.
 */
export class FrameWriter {
  #socket;
  #buf = Buffer.allocUnsafe(CAPACITY);
  #used = 0;
  #scheduled = false;
  #drained;

  constructor(socket) {
    this.#socket = socket;
  }

  frame(type, stream, payload) {
    const size = HEAD + (payload ? payload.length : 0);
    if (this.#used + size > this.#buf.length) {
      this.flush();
      if (size > this.#buf.length) this.#buf = Buffer.allocUnsafe(size);
    }
    const buf = this.#buf;
    const at = this.#used;
    buf.writeUInt32BE(size - 4, at);
    buf[at + 4] = type;
    buf.writeUInt32BE(stream, at + 5);
    if (payload) payload.copy(buf, at + HEAD);
    this.#used = at + size;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush() {
    this.#scheduled = false;
    if (this.#used === 0 || this.#socket.destroyed) return;
    this.#socket.write(this.#buf.subarray(0, this.#used));
    // The socket may still hold the old buffer: start a new one.
    this.#buf = Buffer.allocUnsafe(CAPACITY);
    this.#used = 0;
  }

  get congested() {
    return this.#socket.writableNeedDrain;
  }

  /** One promise per congested spell, however many streams wait on it. */
  drained() {
    this.#drained ??= new Promise((resolve) =>
      this.#socket.once('drain', () => {
        this.#drained = undefined;
        resolve();
      }),
    );
    return this.#drained;
  }
}

/** Splits a byte stream into frames: onFrame(type, stream, buf, start, end). */
export class FrameReader {
  #rest = null;
  #onFrame;

  constructor(onFrame) {
    this.#onFrame = onFrame;
  }

  push(chunk) {
    const buf = this.#rest ? Buffer.concat([this.#rest, chunk]) : chunk;
    let at = 0;
    while (buf.length - at >= 4) {
      const length = buf.readUInt32BE(at);
      if (length < 5 || length > MAX_FRAME) throw new Error(`bad frame length ${length}`);
      if (buf.length - at - 4 < length) break;
      this.#onFrame(buf[at + 4], buf.readUInt32BE(at + 5), buf, at + HEAD, at + 4 + length);
      at += 4 + length;
    }
    this.#rest = at < buf.length ? buf.subarray(at) : null;
  }
}

/** "127.0.0.1:port" → { host, port }. */
export function parseAddress(address) {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
}
