import { type CancelReason, isCancelledError, rootCause } from '@andon/context';
import {
  BackendError,
  Cancelled,
  DeadlineExceeded,
  Disconnected,
  NoInstances,
  Overloaded,
  ProtocolError,
  RuntimeError,
} from '../errors.js';
import type { WireError } from './payloads.js';

/** Rebuilds the typed error a remote tier sent. Unknown codes become BackendError. */
export function errorFromWire(wire: WireError): Error {
  const options = wire.tier === undefined ? {} : { tier: wire.tier };
  switch (wire.code) {
    case 'ANDON_CANCELLED':
      return new Cancelled(
        wire.reason ?? {
          kind: 'stop',
          message: wire.message,
          origin: wire.tier ?? 'remote',
          at: Date.now(),
        },
        options,
      );
    case 'ANDON_DISCONNECTED':
      return new Disconnected(wire.message, options);
    case 'ANDON_DEADLINE_EXCEEDED':
      return new DeadlineExceeded(wire.message, options);
    case 'ANDON_NO_INSTANCES':
      return new NoInstances(wire.message, options);
    case 'ANDON_OVERLOADED':
      return new Overloaded(wire.message, options);
    case 'ANDON_PROTOCOL_ERROR':
      return new ProtocolError(wire.message, options);
    case 'ANDON_BACKEND_ERROR':
      return new BackendError(wire.message, options);
    default:
      return new BackendError(`${wire.code}: ${wire.message}`, options);
  }
}

/**
 * Describes a handler's failure for the wire. Errors from tiers further down keep their
 * code and tier, so the caller learns which tier failed.
 */
export function errorToWire(
  error: unknown,
  tier: string,
  contextReason: CancelReason | undefined,
): WireError {
  if (contextReason && rootCause(contextReason).kind === 'deadline') {
    return {
      code: 'ANDON_DEADLINE_EXCEEDED',
      message: 'the deadline passed before the stream finished',
      tier,
    };
  }
  if (error === undefined && contextReason) {
    const root = rootCause(contextReason);
    return {
      code: 'ANDON_CANCELLED',
      message: `cancelled (${root.kind}): ${root.message}`,
      tier,
      reason: root,
    };
  }
  if (error instanceof Cancelled) {
    return {
      code: 'ANDON_CANCELLED',
      message: error.message,
      tier: error.tier ?? tier,
      reason: error.reason,
    };
  }
  if (isCancelledError(error)) {
    return { code: 'ANDON_CANCELLED', message: error.message, tier, reason: error.reason };
  }
  if (error instanceof RuntimeError) {
    return { code: error.code, message: error.message, tier: error.tier ?? tier };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'ANDON_BACKEND_ERROR', message, tier };
}
