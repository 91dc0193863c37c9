import { HEADER_BYTES, LENGTH_OVERHEAD } from './frame.js';

/** Receives each whole frame; `payload` is only valid during the call. */
export type FrameHandler = (
  type: number,
  flags: number,
  stream: number,
  payload: Uint8Array,
) => void;

/**
 * Splits a byte stream into length-prefixed frames. A length outside [6, maxFrame] cannot
 * be attributed to a stream safely, so it is reported once and decoding stops.
 */
export class FrameDecoder {
  #pending: Buffer | undefined;
  #failed = false;

  constructor(
    private readonly maxFrame: number,
    private readonly onFrame: FrameHandler,
    private readonly onError: (message: string) => void,
  ) {}

  /** Decodes the bytes of `chunk` from index `from` on. */
  push(chunk: Uint8Array, from = 0): void {
    if (this.#failed) return;
    let data = chunk;
    let offset = from;
    if (this.#pending !== undefined) {
      data = Buffer.concat([this.#pending, chunk.subarray(from)]);
      this.#pending = undefined;
      offset = 0;
    }
    const end = data.length;
    // readU32 and view are written out in this loop: the frames of a stop arrive cold
    // (unoptimized code), where each function call costs as much as the work it does.
    while (end - offset >= 4) {
      const length =
        ((data[offset]! << 24) |
          (data[offset + 1]! << 16) |
          (data[offset + 2]! << 8) |
          data[offset + 3]!) >>>
        0;
      if (length < LENGTH_OVERHEAD || length > this.maxFrame) {
        this.#failed = true;
        this.onError(
          length < LENGTH_OVERHEAD
            ? `frame length ${length} is below the minimum of ${LENGTH_OVERHEAD}`
            : `frame length ${length} exceeds the limit of ${this.maxFrame} bytes`,
        );
        return;
      }
      if (end - offset < 4 + length) break;
      const type = data[offset + 4]!;
      const flags = data[offset + 5]!;
      const stream =
        ((data[offset + 6]! << 24) |
          (data[offset + 7]! << 16) |
          (data[offset + 8]! << 8) |
          data[offset + 9]!) >>>
        0;
      const payload = new Uint8Array(
        data.buffer,
        data.byteOffset + offset + HEADER_BYTES,
        length - LENGTH_OVERHEAD,
      );
      offset += 4 + length;
      this.onFrame(type, flags, stream, payload);
      if (this.#failed) return;
    }
    if (offset < end) this.#pending = Buffer.from(data.subarray(offset));
  }

  /** Stops decoding (after a fatal error found by the frame handler). */
  fail(): void {
    this.#failed = true;
    this.#pending = undefined;
  }
}
