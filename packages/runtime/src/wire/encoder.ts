import type { CancelReason } from '@andon/context';
import { HEADER_BYTES, LENGTH_OVERHEAD } from './frame.js';
import { reasonBytesBound, writeReason } from './reason-codec.js';

const CHUNK_BYTES = 64 * 1024;

/**
 * Encodes frames into a shared chunk so that many small frames leave in one write.
 * Coalescing is worth about 50× on loopback (bench/BASELINES.md).
 *
 * Bytes returned by `take()` are never written again, so a socket may hold them while
 * later frames are appended after them.
 *
 * With `headroom`, every batch `take()` returns starts with that many spare bytes, where a
 * transport writes its own header (the NATS envelope) instead of copying the batch.
 */
export class FrameEncoder {
  #chunk: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  #start = 0;
  #offset = 0;

  constructor(readonly headroom = 0) {}

  /** Bytes of frames encoded but not yet taken (the headroom not counted). */
  get pendingBytes(): number {
    const used = this.#offset - this.#start;
    return used === 0 ? 0 : used - this.headroom;
  }

  /**
   * Appends one frame. A string payload is written as UTF-8 straight into the chunk.
   * @returns the payload's size in bytes.
   */
  frame(type: number, flags: number, stream: number, payload?: string | Uint8Array): number {
    const room =
      payload === undefined ? 0 : typeof payload === 'string' ? payload.length * 3 : payload.length;
    const at = this.#open(HEADER_BYTES + room);
    const chunk = this.#chunk;
    let size = 0;
    if (typeof payload === 'string') size = chunk.write(payload, at + HEADER_BYTES, 'utf8');
    else if (payload !== undefined) {
      chunk.set(payload, at + HEADER_BYTES);
      size = payload.length;
    }
    this.#close(at, type, flags, stream, size);
    return size;
  }

  /** Appends a STOP or KILL frame carrying `reason`, encoded in place. */
  reasonFrame(type: number, stream: number, reason: CancelReason): void {
    const at = this.#open(HEADER_BYTES + reasonBytesBound(reason));
    const end = writeReason(reason, this.#chunk, at + HEADER_BYTES);
    this.#close(at, type, 0, stream, end - at - HEADER_BYTES);
  }

  /**
   * Removes and returns the headroom and every frame encoded since the last call (empty
   * when nothing is pending).
   */
  take(): Uint8Array {
    const chunk = this.#chunk;
    const out = new Uint8Array(
      chunk.buffer,
      chunk.byteOffset + this.#start,
      this.#offset - this.#start,
    );
    this.#start = this.#offset;
    return out;
  }

  /** Makes room for a frame of up to `bytes`; returns where it starts. */
  #open(bytes: number): number {
    const fresh = this.#offset === this.#start;
    const need = fresh ? this.headroom + bytes : bytes;
    if (this.#offset + need > this.#chunk.length) this.#grow(need);
    if (fresh) this.#offset += this.headroom;
    return this.#offset;
  }

  // The header's u32 fields are written byte by byte here rather than with writeU32, like
  // take()'s view (docs/ARCHITECTURE.md, "The stop path runs cold").
  #close(at: number, type: number, flags: number, stream: number, size: number): void {
    const chunk = this.#chunk;
    const length = LENGTH_OVERHEAD + size;
    chunk[at] = length >>> 24;
    chunk[at + 1] = length >>> 16;
    chunk[at + 2] = length >>> 8;
    chunk[at + 3] = length;
    chunk[at + 4] = type;
    chunk[at + 5] = flags;
    chunk[at + 6] = stream >>> 24;
    chunk[at + 7] = stream >>> 16;
    chunk[at + 8] = stream >>> 8;
    chunk[at + 9] = stream;
    this.#offset = at + HEADER_BYTES + size;
  }

  #grow(bytes: number): void {
    // Pending bytes move to the new chunk; taken ones stay with whoever holds them.
    const pending = this.#chunk.subarray(this.#start, this.#offset);
    const next = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, pending.length + bytes));
    pending.copy(next, 0);
    this.#chunk = next;
    this.#start = 0;
    this.#offset = pending.length;
  }
}
