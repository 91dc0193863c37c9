/**
 * The NATS transport's wire format (docs/PROTOCOL.md, "NATS"): subjects, and the 5-byte
 * envelope in front of every message. Kept apart from the client logic so another
 * implementation can be checked against it.
 */
import { readU32, view } from '../wire/bytes.js';

/** Version token in every transport subject; it follows the wire protocol's version. */
export const NATS_TRANSPORT_VERSION = 1;

/** Default first token of every transport subject. */
export const DEFAULT_TRANSPORT_PREFIX = 'andon';

/** Envelope kinds: a piece of the v1 byte stream, or the end of the virtual connection. */
export const EnvelopeKind = {
  DATA: 0x00,
  CLOSE: 0x01,
} as const;

/** kind (u8) + sequence number (u32, big-endian). */
export const ENVELOPE_BYTES = 5;

/** A v1 frame's length prefix, which a frame limit does not count. */
const LENGTH_PREFIX = 4;

/** Where a responder listens: `<prefix>.v1.rt.<id>`; callers append one token per connection. */
export function responderSubject(prefix: string, id: string): string {
  return `${prefix}.v${NATS_TRANSPORT_VERSION}.rt.${id}`;
}

/**
 * A responder's subject of its own for one accepted connection: `<prefix>.v1.rc.<id>.<conn>`.
 * Outside `<prefix>.v1.rt.<id>.*`, so it has a subscription of its own and a message on it
 * needs no lookup by subject.
 */
export function servedConnectionSubject(prefix: string, id: string, connection: string): string {
  return `${prefix}.v${NATS_TRANSPORT_VERSION}.rc.${id}.${connection}`;
}

/** Where a caller receives: `<prefix>.v1.in.<id>`; one more token names the connection. */
export function callerSubject(prefix: string, id: string): string {
  return `${prefix}.v${NATS_TRANSPORT_VERSION}.in.${id}`;
}

/**
 * The largest frame (`length` field) that fits in one message under the server's
 * `max_payload`: frames are never split across messages, so an item that would not fit is
 * refused by the session with both sizes named, instead of by the server.
 */
export function frameLimitFor(maxPayload: number): number {
  return maxPayload - ENVELOPE_BYTES - LENGTH_PREFIX;
}

/** Builds one message: envelope, then `body` (or `length` bytes of it from `offset`). */
export function encodeEnvelope(
  kind: number,
  seq: number,
  body: Uint8Array,
  offset = 0,
  length = body.length - offset,
): Uint8Array {
  const out = new Uint8Array(ENVELOPE_BYTES + length);
  writeEnvelope(out, kind, seq);
  if (length > 0) out.set(view(body, offset, length), ENVELOPE_BYTES);
  return out;
}

/** Writes the envelope into the first {@link ENVELOPE_BYTES} of `message`, in place. */
export function writeEnvelope(message: Uint8Array, kind: number, seq: number): void {
  message[0] = kind;
  message[1] = seq >>> 24;
  message[2] = seq >>> 16;
  message[3] = seq >>> 8;
  message[4] = seq;
}

/** A decoded message; `body` shares memory with the message and is valid during the call. */
export interface Envelope {
  readonly kind: number;
  readonly seq: number;
  readonly body: Uint8Array;
}

/** Parses a message's data. Throws an Error saying what is wrong. */
export function decodeEnvelope(data: Uint8Array): Envelope {
  const problem = envelopeProblem(data);
  if (problem !== undefined) throw new Error(problem);
  return {
    kind: data[0]!,
    seq: readU32(data, 1),
    body: view(data, ENVELOPE_BYTES, data.length - ENVELOPE_BYTES),
  };
}

/**
 * What is wrong with a message's envelope, or undefined when it is well-formed: then
 * `data[0]` is its kind and `readU32(data, 1)` its sequence number. (Read in place on the
 * receive path, where an object per message is a cost every stop pays.)
 */
export function envelopeProblem(data: Uint8Array): string | undefined {
  if (data.length < ENVELOPE_BYTES) {
    return `a message of ${data.length} bytes is shorter than the 5-byte envelope`;
  }
  const kind = data[0]!;
  if (kind !== EnvelopeKind.DATA && kind !== EnvelopeKind.CLOSE) {
    return `unknown envelope kind 0x${kind.toString(16)}`;
  }
  return undefined;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;
const SUBJECT = /^[A-Za-z0-9_~-]+(\.[A-Za-z0-9_~-]+)*$/;

/** True for a plain subject (no wildcards, no empty tokens) such as an address or inbox. */
export function isPlainSubject(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 256 && SUBJECT.test(value);
}

/** True for one plain token such as a connection id. */
export function isToken(value: string): boolean {
  return value.length <= 64 && TOKEN.test(value);
}
