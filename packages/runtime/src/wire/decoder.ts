import { readU32, view } from './bytes.js';
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

  push(chunk: Uint8Array): void {
    if (this.#failed) return;
    let data = chunk;
    if (this.#pending !== undefined) {
      data = Buffer.concat([this.#pending, chunk]);
      this.#pending = undefined;
    }
    let offset = 0;
    const end = data.length;
    while (end - offset >= 4) {
      const length = readU32(data, offset);
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
      const stream = readU32(data, offset + 6);
      const payload = view(data, offset + HEADER_BYTES, length - LENGTH_OVERHEAD);
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
