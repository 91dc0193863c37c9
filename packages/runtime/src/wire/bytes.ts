// Byte-level helpers in plain typed-array code. Buffer's own (`readUInt32BE`, `subarray`,
// `writeUInt32BE`) go through layers of argument checks or Buffer's constructor, which on
// the stop path cost more than the frame itself (docs/ARCHITECTURE.md, "The stop path runs cold").

/** Reads a big-endian u32 at `at` (the caller has checked that the bytes are there). */
export function readU32(bytes: Uint8Array, at: number): number {
  return bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
}

/** Writes `value` (a u32) big-endian at `at` (the caller has made room). */
export function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

/** `length` bytes of `bytes` from `start`, as a plain Uint8Array sharing its memory. */
export function view(bytes: Uint8Array, start: number, length: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, length);
}
