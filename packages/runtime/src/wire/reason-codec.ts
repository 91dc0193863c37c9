import { type CancelReason, createReason, STOP_KINDS, type StopKind } from '@andon/context';
import { ProtocolError } from '../errors.js';
import { view } from './bytes.js';

// The reason of a STOP or KILL frame, in binary (docs/PROTOCOL.md, "Reasons on the wire"):
//
//   u8 kind (index in STOP_KINDS) | f64 at | u16 origin bytes | origin UTF-8 | message UTF-8
//
// Binary rather than JSON because a stop is the one frame whose latency is the product, and
// it runs once per request, cold: JSON.stringify on one side and JSON.parse plus validation
// on the other were the largest share of each hop.

const FIXED_BYTES = 11;
// Reasons are for people and logs; longer texts are cut, not refused, so a stop always
// goes out (and always fits the smallest frame limit a peer may announce).
const MAX_ORIGIN_BYTES = 1024;
const MAX_MESSAGE_BYTES = 4096;

// Written as straight-line typed-array code on purpose (docs/ARCHITECTURE.md, "The stop path runs cold"). Measured cold, this encoder takes about half the time of
// JSON.stringify, this decoder about half that of JSON.parse.

const float = new Float64Array(1);
const floatBytes = new Uint8Array(float.buffer);
/** Where wire byte i (big-endian) of a double sits in this machine's Float64Array. */
const FLOAT_ORDER =
  new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
    ? [7, 6, 5, 4, 3, 2, 1, 0]
    : [0, 1, 2, 3, 4, 5, 6, 7];

/** Each kind's code (its index in STOP_KINDS), as a lookup rather than an indexOf call. */
const KIND_CODES = Object.fromEntries(STOP_KINDS.map((kind, code) => [kind, code])) as Record<
  StopKind,
  number
>;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * The most bytes {@link writeReason} may write for `reason`: callers reserve this much and
 * write in place, so a stop allocates nothing on its way to the wire.
 */
export function reasonBytesBound(reason: CancelReason): number {
  if (reason === decoded) return decodedBytes!.length;
  return (
    FIXED_BYTES +
    Math.min(reason.origin.length * 3, MAX_ORIGIN_BYTES) +
    Math.min(reason.message.length * 3, MAX_MESSAGE_BYTES)
  );
}

/**
 * Writes `reason` (the root reason of a stop or kill) into `out` at `at`, where
 * {@link reasonBytesBound} bytes are free. Returns the index after the last byte written.
 */
export function writeReason(reason: CancelReason, out: Uint8Array, at: number): number {
  // A middle tier forwards the reason it has just decoded: send the same bytes again.
  if (reason === decoded) {
    out.set(decodedBytes!, at);
    return at + decodedBytes!.length;
  }
  let { origin, message } = reason;
  if (origin.length * 3 > MAX_ORIGIN_BYTES) origin = clip(origin, MAX_ORIGIN_BYTES);
  if (message.length * 3 > MAX_MESSAGE_BYTES) message = clip(message, MAX_MESSAGE_BYTES);
  let units = 0; // every UTF-16 unit OR-ed together: ASCII while it stays below 0x80
  for (let i = 0; i < origin.length; i++) units |= origin.charCodeAt(i);
  for (let i = 0; i < message.length; i++) units |= message.charCodeAt(i);
  out[at] = KIND_CODES[reason.kind];
  float[0] = reason.at;
  for (let i = 0; i < 8; i++) out[at + 1 + i] = floatBytes[FLOAT_ORDER[i]!]!;
  let end = at + FIXED_BYTES;
  if (units <= 0x7f) {
    for (let i = 0; i < origin.length; i++) out[end++] = origin.charCodeAt(i);
    out[at + 9] = origin.length >>> 8;
    out[at + 10] = origin.length & 0xff;
    for (let i = 0; i < message.length; i++) out[end++] = message.charCodeAt(i);
    return end;
  }
  const originBytes = utf8Encoder.encodeInto(origin, out.subarray(end)).written;
  out[at + 9] = originBytes >>> 8;
  out[at + 10] = originBytes & 0xff;
  end += originBytes;
  return end + utf8Encoder.encodeInto(message, out.subarray(end)).written;
}

/** Encodes the root reason of a stop or kill as a STOP/KILL payload of its own. */
export function encodeReason(reason: CancelReason): Uint8Array {
  const out = new Uint8Array(reasonBytesBound(reason));
  return out.subarray(0, writeReason(reason, out, 0));
}

// The reason being handled right now and the bytes it came in, valid only until
// `releaseDecodedReason()`: the bytes are a view into a read buffer the transport may reuse.
let decoded: CancelReason | undefined;
let decodedBytes: Uint8Array | undefined;

/**
 * Decodes a STOP/KILL reason. Until {@link releaseDecodedReason} is called, encoding this
 * same reason returns `payload` itself, so a middle tier that forwards a stop synchronously
 * (from its stop callbacks) sends the bytes it received. Throws a {@link ProtocolError}
 * naming the frame (`what`) and the problem when the payload is not a valid reason.
 */
export function decodeReason(payload: Uint8Array, what: string): CancelReason {
  const length = payload.length;
  if (length < FIXED_BYTES) {
    throw new ProtocolError(
      `${what} reason is ${length} bytes; a reason has at least ${FIXED_BYTES}`,
    );
  }
  const kind = STOP_KINDS[payload[0]!];
  if (kind === undefined) throw new ProtocolError(`${what} reason has unknown kind ${payload[0]}`);
  for (let i = 0; i < 8; i++) floatBytes[FLOAT_ORDER[i]!] = payload[1 + i]!;
  const at = float[0]!;
  // Finite: NaN and ±Infinity give NaN (no builtin call on the cold stop path).
  if (at - at !== 0) throw new ProtocolError(`${what} reason has a non-finite time`);
  const split = FIXED_BYTES + ((payload[9]! << 8) | payload[10]!);
  if (split > length) {
    throw new ProtocolError(
      `${what} reason's origin (${split - FIXED_BYTES} bytes) overruns the payload`,
    );
  }
  const reason = createReason({
    kind,
    message: lastMessage.read(payload, split, length),
    origin: lastOrigin.read(payload, FIXED_BYTES, split),
    at,
  });
  decoded = reason;
  decodedBytes = payload;
  return reason;
}

/** Ends the window in which a just-decoded reason is forwarded as its own bytes. */
export function releaseDecodedReason(): void {
  decoded = undefined;
  decodedBytes = undefined;
}

/**
 * One text field of the last reason decoded, bytes and string. Stops repeat their texts
 * (the default message, a tier's name), and comparing a few bytes costs a fraction of
 * decoding them again on the cold stop path.
 */
class RecentText {
  #bytes = new Uint8Array(0);
  #text = '';

  read(payload: Uint8Array, start: number, end: number): string {
    const known = this.#bytes;
    if (known.length === end - start) {
      let same = true;
      for (let i = 0; i < known.length; i++) {
        if (known[i] !== payload[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#text;
    }
    const bytes = view(payload, start, end - start);
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! > 0x7f) {
        ascii = false;
        break;
      }
    }
    // fromCharCode.apply is the cheap way for the short texts senders write (4 KiB at
    // most); a longer one from another implementation must not hit the argument limit.
    const text =
      ascii && bytes.length <= MAX_MESSAGE_BYTES
        ? String.fromCharCode.apply(null, bytes as unknown as number[])
        : utf8Decoder.decode(bytes);
    this.#bytes = bytes.slice();
    this.#text = text;
    return text;
  }
}

const lastMessage = new RecentText();
const lastOrigin = new RecentText();

/** `text`, cut to at most `maxBytes` of UTF-8 (never inside a character). */
export function clip(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.toString('utf8', 0, end);
}
