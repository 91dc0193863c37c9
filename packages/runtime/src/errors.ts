import { CancelledError, type CancelReason } from '@andon/context';

/**
 * Codes of the runtime's typed errors. They cross the wire as strings, so a caller in any
 * language can tell them apart.
 */
export type ErrorCode =
  | 'ANDON_CANCELLED'
  | 'ANDON_DISCONNECTED'
  | 'ANDON_DEADLINE_EXCEEDED'
  | 'ANDON_NO_INSTANCES'
  | 'ANDON_OVERLOADED'
  | 'ANDON_BACKEND_ERROR'
  | 'ANDON_PROTOCOL_ERROR';

/** Options every runtime error takes. */
export interface RuntimeErrorOptions {
  /** Which tier raised it (a component path or a process label). */
  tier?: string;
  cause?: unknown;
}

/** Base of the runtime errors other than {@link Cancelled}. */
export abstract class RuntimeError extends Error {
  abstract readonly code: ErrorCode;
  readonly tier: string | undefined;
  constructor(message: string, options: RuntimeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.tier = options.tier;
  }
}

/**
 * The remote work was cancelled (the handler threw a CancelledError, or it was stopped
 * from elsewhere). It is a {@link CancelledError}, so `isCancelledError()` recognises it.
 */
export class Cancelled extends CancelledError {
  readonly tier: string | undefined;
  constructor(reason: CancelReason, options: RuntimeErrorOptions = {}) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Cancelled';
    this.tier = options.tier;
  }
}

/** The peer went away: connection closed, heartbeats missed, or it left discovery. */
export class Disconnected extends RuntimeError {
  readonly code = 'ANDON_DISCONNECTED';
  override readonly name = 'Disconnected';
}

/** The call's deadline passed before the stream finished. */
export class DeadlineExceeded extends RuntimeError {
  readonly code = 'ANDON_DEADLINE_EXCEEDED';
  override readonly name = 'DeadlineExceeded';
}

/** No instance serves the endpoint (or the named instance is unknown). */
export class NoInstances extends RuntimeError {
  readonly code = 'ANDON_NO_INSTANCES';
  override readonly name = 'NoInstances';
}

/** The instance refused the call because it is at capacity or shutting down. */
export class Overloaded extends RuntimeError {
  readonly code = 'ANDON_OVERLOADED';
  override readonly name = 'Overloaded';
}

/** The handler threw. The message and the tier that raised it are carried over the wire. */
export class BackendError extends RuntimeError {
  readonly code = 'ANDON_BACKEND_ERROR';
  override readonly name = 'BackendError';
}

/** A peer broke the protocol: malformed, oversized or unknown frame, bad handshake, bad JSON. */
export class ProtocolError extends RuntimeError {
  readonly code = 'ANDON_PROTOCOL_ERROR';
  override readonly name = 'ProtocolError';
}
