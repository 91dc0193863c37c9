import { type CancelReason, isStopKind } from '@andon/context';
import { ProtocolError } from '../errors.js';
import { readU32 } from './bytes.js';

/** HELLO payload (caller → responder). */
export interface Hello {
  magic: string;
  version: number;
  instance: string;
  heartbeatMs: number;
  maxFrame: number;
  /** The caller's challenge, present when it holds the shared secret. */
  nonce?: string;
}

/** WELCOME payload (responder → caller). */
export interface Welcome {
  version: number;
  instance: string;
  heartbeatMs: number;
  maxFrame: number;
  /** The responder's challenge and its answer to the caller's, when it holds the secret. */
  nonce?: string;
  proof?: string;
}

/** AUTH payload (caller → responder): the caller's answer to the responder's challenge. */
export interface Auth {
  proof: string;
}

/** The JSON header of a REQUEST frame. */
export interface RequestHeader {
  endpoint: string;
  id: string;
  credit: number;
  budgetMs?: number;
  headers?: Record<string, string>;
}

/** ERROR payload. */
export interface WireError {
  code: string;
  message: string;
  tier?: string;
  reason?: CancelReason;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Parses a JSON payload, naming the frame when it is not valid JSON. */
export function parseJson(payload: Uint8Array, what: string): unknown {
  // Control payloads are parsed on the stop path, which runs cold; TextDecoder does the
  // least work there (Buffer#toString costs twice as much before the JIT warms up).
  return parseJsonText(utf8.decode(payload), what);
}

function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ProtocolError(`${what} is not valid JSON: ${(error as Error).message}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The most items a caller may have granted a stream and not yet received. Far above any
 * sane window (the default is 128); it stops a caller from asking for 2^31 items at once.
 */
export const MAX_CREDIT = 65_536;

/**
 * The longest heartbeat interval a peer may ask for. A peer's interval is adopted when it is
 * longer than ours, so without a bound a peer could switch liveness off (8e9 ms) or, past
 * 2^31 ms, overflow the timer into one that fires every millisecond.
 */
export const MAX_HEARTBEAT_MS = 300_000;

function isHeartbeat(value: unknown): value is number {
  return isPositive(value) && value <= MAX_HEARTBEAT_MS;
}

export function parseHello(payload: Uint8Array): Hello {
  const value = parseJson(payload, 'HELLO payload');
  if (!isObject(value)) throw new ProtocolError('HELLO payload must be a JSON object');
  if (value.magic !== 'andon')
    throw new ProtocolError(`HELLO has bad magic ${JSON.stringify(value.magic)}; expected "andon"`);
  if (typeof value.version !== 'number') throw new ProtocolError('HELLO.version must be a number');
  if (typeof value.instance !== 'string')
    throw new ProtocolError('HELLO.instance must be a string');
  if (!isHeartbeat(value.heartbeatMs))
    throw new ProtocolError(
      `HELLO.heartbeatMs must be a number of milliseconds above 0 and at most ${MAX_HEARTBEAT_MS}`,
    );
  if (!isPositive(value.maxFrame))
    throw new ProtocolError('HELLO.maxFrame must be a positive number');
  if (value.nonce !== undefined && !isChallenge(value.nonce))
    throw new ProtocolError(`HELLO.nonce must be a string of at most ${MAX_CHALLENGE} characters`);
  return value as unknown as Hello;
}

export function parseWelcome(payload: Uint8Array): Welcome {
  const value = parseJson(payload, 'WELCOME payload');
  if (!isObject(value) || typeof value.version !== 'number' || typeof value.instance !== 'string') {
    throw new ProtocolError('WELCOME payload must be an object with version and instance');
  }
  if (!isHeartbeat(value.heartbeatMs) || !isPositive(value.maxFrame)) {
    throw new ProtocolError(
      `WELCOME.heartbeatMs must be above 0 and at most ${MAX_HEARTBEAT_MS} ms, and WELCOME.maxFrame a positive number`,
    );
  }
  if (
    (value.nonce !== undefined && !isChallenge(value.nonce)) ||
    (value.proof !== undefined && !isChallenge(value.proof))
  ) {
    throw new ProtocolError(
      `WELCOME.nonce and WELCOME.proof must be strings of at most ${MAX_CHALLENGE} characters`,
    );
  }
  return value as unknown as Welcome;
}

export function parseAuth(payload: Uint8Array): Auth {
  const value = parseJson(payload, 'AUTH payload');
  if (!isObject(value) || !isChallenge(value.proof)) {
    throw new ProtocolError(
      `AUTH payload must be an object whose proof is a string of at most ${MAX_CHALLENGE} characters`,
    );
  }
  return value as unknown as Auth;
}

/** Nonces and proofs are 43 characters (32 bytes, base64url); anything far longer is junk. */
const MAX_CHALLENGE = 256;

function isChallenge(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_CHALLENGE;
}

/** Builds a REQUEST payload: u32 header length, header JSON, body. */
export function encodeRequest(header: RequestHeader, body: string | Uint8Array): Buffer {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const bodyBytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const out = Buffer.allocUnsafe(4 + head.length + bodyBytes.length);
  out.writeUInt32BE(head.length, 0);
  head.copy(out, 4);
  out.set(bodyBytes, 4 + head.length);
  return out;
}

/** Splits a REQUEST payload into its validated header and the raw body bytes. */
export function decodeRequest(payload: Uint8Array): { header: RequestHeader; body: Uint8Array } {
  if (payload.length < 4)
    throw new ProtocolError('REQUEST payload is shorter than its 4-byte header length');
  const headLength = readU32(payload, 0);
  if (headLength > payload.length - 4) {
    throw new ProtocolError(
      `REQUEST header length ${headLength} exceeds the payload (${payload.length - 4} bytes)`,
    );
  }
  const value = parseJson(payload.subarray(4, 4 + headLength), 'REQUEST header');
  if (!isObject(value)) throw new ProtocolError('REQUEST header must be a JSON object');
  if (typeof value.endpoint !== 'string' || value.endpoint.split('/').length !== 3) {
    throw new ProtocolError('REQUEST header.endpoint must be "namespace/component/endpoint"');
  }
  if (typeof value.id !== 'string' || value.id.length === 0)
    throw new ProtocolError('REQUEST header.id must be a non-empty string');
  if (
    !Number.isInteger(value.credit) ||
    (value.credit as number) < 1 ||
    (value.credit as number) > MAX_CREDIT
  ) {
    throw new ProtocolError(`REQUEST header.credit must be an integer from 1 to ${MAX_CREDIT}`);
  }
  if (
    value.budgetMs !== undefined &&
    !(typeof value.budgetMs === 'number' && value.budgetMs >= 0)
  ) {
    throw new ProtocolError('REQUEST header.budgetMs must be a number >= 0');
  }
  if (value.headers !== undefined) {
    if (
      !isObject(value.headers) ||
      !Object.values(value.headers).every((v) => typeof v === 'string')
    ) {
      throw new ProtocolError('REQUEST header.headers must be an object of strings');
    }
  }
  return { header: value as unknown as RequestHeader, body: payload.subarray(4 + headLength) };
}

function toWireReason(value: unknown, depth = 0): CancelReason | undefined {
  if (!isObject(value) || !isStopKind(value.kind) || typeof value.message !== 'string')
    return undefined;
  const reason: { -readonly [K in keyof CancelReason]: CancelReason[K] } = {
    kind: value.kind,
    message: value.message,
    origin: typeof value.origin === 'string' ? value.origin : 'remote',
    at: typeof value.at === 'number' && Number.isFinite(value.at) ? value.at : Date.now(),
  };
  if (depth < 4 && value.cause !== undefined) {
    const cause = toWireReason(value.cause, depth + 1);
    if (cause) reason.cause = cause;
  }
  return Object.freeze(reason);
}

export function parseError(payload: Uint8Array): WireError {
  const value = parseJson(payload, 'ERROR payload');
  if (!isObject(value) || typeof value.code !== 'string' || typeof value.message !== 'string') {
    throw new ProtocolError('ERROR payload must be an object with code and message');
  }
  const reason = value.reason === undefined ? undefined : toWireReason(value.reason);
  return {
    code: value.code,
    message: value.message,
    ...(typeof value.tier === 'string' ? { tier: value.tier } : {}),
    ...(reason ? { reason } : {}),
  };
}

export function encodeU32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value, 0);
  return out;
}

function isPositive(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}
