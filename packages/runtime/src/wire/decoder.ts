import { HEADER_BYTES, LENGTH_OVERHEAD } from './frame.js';

/** Receives each whole frame; `payload` is only valid during the call. */
export type FrameHandler = (
  type: number,
  flags: number,
  stream: number,
  payload: Uint8Array,
) => void;

/**
 * Bytes of unfinished frames held by all decoders of this process together. A peer must
 * send the bytes it makes us hold, but many connections each dribbling a large frame would
 * otherwise add up without bound.
 */
export const MAX_PENDING_BYTES_PER_PROCESS = 64 * 1024 * 1024;
let pendingInProcess = 0;

/** Bytes of unfinished frames held by this process's decoders now (for tests and stats). */
export function pendingFrameBytes(): number {
  return pendingInProcess;
}

/**
 * Splits a byte stream into length-prefixed frames. A length outside [6, maxFrame] cannot
 * be attributed to a stream safely, so it is reported once and decoding stops.
 *
 * A frame split across chunks is kept as the pieces received and joined once, when its
 * last byte arrives: a peer dribbling a large frame a byte at a time costs linear time,
 * not a copy of everything so far per byte.
 */
export class FrameDecoder {
  // The unfinished frame: its pieces, their total, and its full size once the 4 length
  // bytes are in (0 before).
  #pieces: Uint8Array[] = [];
  #held = 0;
  #frameBytes = 0;
  #failed = false;

  constructor(
    private readonly maxFrame: number,
    private readonly onFrame: FrameHandler,
    private readonly onError: (message: string) => void,
  ) {}

  /** Decodes the bytes of `chunk` from index `from` on. */
  push(chunk: Uint8Array, from = 0): void {
    if (this.#failed) return;
    let offset = from;
    if (this.#held > 0) {
      offset = this.#continueFrame(chunk, offset);
      if (offset < 0) return;
    }
    const end = chunk.length;
    // readU32 and view are written out in this loop (docs/ARCHITECTURE.md, "The stop path runs cold").
    while (end - offset >= 4) {
      const length =
        ((chunk[offset]! << 24) |
          (chunk[offset + 1]! << 16) |
          (chunk[offset + 2]! << 8) |
          chunk[offset + 3]!) >>>
        0;
      if (length < LENGTH_OVERHEAD || length > this.maxFrame) {
        this.#refuseLength(length);
        return;
      }
      if (end - offset < 4 + length) break;
      const type = chunk[offset + 4]!;
      const flags = chunk[offset + 5]!;
      const stream =
        ((chunk[offset + 6]! << 24) |
          (chunk[offset + 7]! << 16) |
          (chunk[offset + 8]! << 8) |
          chunk[offset + 9]!) >>>
        0;
      const payload = new Uint8Array(
        chunk.buffer,
        chunk.byteOffset + offset + HEADER_BYTES,
        length - LENGTH_OVERHEAD,
      );
      offset += 4 + length;
      this.onFrame(type, flags, stream, payload);
      if (this.#failed) return;
    }
    if (offset < end) this.#continueFrame(chunk, offset);
  }

  /** Stops decoding (after a fatal error found by the frame handler) and lets go of what it held. */
  fail(): void {
    this.#failed = true;
    this.#drop();
  }

  // Adds chunk[from..] to the unfinished frame, up to its end. Returns where the rest of
  // the chunk starts, or -1 when the frame is still unfinished (or decoding failed).
  #continueFrame(chunk: Uint8Array, from: number): number {
    let offset = from;
    if (this.#frameBytes === 0) {
      offset = this.#hold(chunk, offset, 4 - this.#held);
      if (this.#held < 4) return -1;
      const head = Buffer.concat(this.#pieces, 4);
      const length = head.readUInt32BE(0);
      if (length < LENGTH_OVERHEAD || length > this.maxFrame) {
        this.#refuseLength(length);
        return -1;
      }
      this.#frameBytes = 4 + length;
    }
    offset = this.#hold(chunk, offset, this.#frameBytes - this.#held);
    if (this.#failed || this.#held < this.#frameBytes) return -1;
    const frame = Buffer.concat(this.#pieces, this.#frameBytes);
    this.#drop();
    // The whole frame and nothing else: the loop decodes it like any other.
    this.push(frame);
    return this.#failed ? -1 : offset;
  }

  // Copies up to `want` bytes of chunk[from..] (the chunk's memory may be reused after the
  // call). Returns the offset after them.
  #hold(chunk: Uint8Array, from: number, want: number): number {
    const take = Math.min(want, chunk.length - from);
    if (take <= 0) return from;
    if (pendingInProcess + take > MAX_PENDING_BYTES_PER_PROCESS) {
      this.#failed = true;
      this.#drop();
      this.onError(
        `unfinished frames held by this process would exceed ${MAX_PENDING_BYTES_PER_PROCESS} bytes; closing this connection`,
      );
      return from;
    }
    this.#pieces.push(Buffer.from(chunk.subarray(from, from + take)));
    this.#held += take;
    pendingInProcess += take;
    return from + take;
  }

  #refuseLength(length: number): void {
    this.#failed = true;
    this.#drop();
    this.onError(
      length < LENGTH_OVERHEAD
        ? `frame length ${length} is below the minimum of ${LENGTH_OVERHEAD}`
        : `frame length ${length} exceeds the limit of ${this.maxFrame} bytes`,
    );
  }

  #drop(): void {
    pendingInProcess -= this.#held;
    this.#pieces = [];
    this.#held = 0;
    this.#frameBytes = 0;
  }
}
