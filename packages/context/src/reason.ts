import { describeArgument } from './describe-argument.js';

/**
 * Why a context was stopped or killed. Reasons cross process boundaries, so a backend can
 * tell "the user pressed stop" from "the user's socket died" from "the deadline passed".
 */
export type StopKind =
  | 'stop'
  | 'kill'
  | 'deadline'
  | 'disconnect'
  | 'shutdown'
  | 'parent'
  | 'signal'
  | 'condition'
  | 'error';

/**
 * Every kind a {@link CancelReason} may carry, in a stable order (the wire relies on it).
 *
 * @example
 * const code = STOP_KINDS.indexOf(reason.kind); // a small integer for a binary frame
 */
export const STOP_KINDS: readonly StopKind[] = Object.freeze([
  'stop',
  'kill',
  'deadline',
  'disconnect',
  'shutdown',
  'parent',
  'signal',
  'condition',
  'error',
]);

/**
 * The first trigger's reason. It is frozen and never changes once set.
 *
 * @example
 * ctx.stop({ kind: 'shutdown', message: 'draining node' });
 * ctx.reason; // { kind: 'shutdown', message: 'draining node', origin: 'local', at: 1732… }
 */
export interface CancelReason {
  readonly kind: StopKind;
  readonly message: string;
  /** Where the cancellation was triggered: 'local', a tier name, a host, a signal name. */
  readonly origin: string;
  /** Epoch milliseconds, read from the context's clock. */
  readonly at: number;
  /** For kind `parent`: the original reason at the root of the cancellation. */
  readonly cause?: CancelReason;
}

/** What callers may pass to `stop()` / `kill()`: a message, or any part of a reason. */
export type ReasonInput = string | Partial<CancelReason> | undefined;

/**
 * True when `kind` is one of {@link STOP_KINDS}.
 *
 * @example
 * if (isStopKind(frame.kind)) ctx.stop({ kind: frame.kind, message: frame.message });
 */
export function isStopKind(kind: unknown): kind is StopKind {
  // A switch, not a Set: a builtin call costs more than all the comparisons
  // (docs/ARCHITECTURE.md, "The stop path runs cold").
  switch (kind) {
    case 'stop':
    case 'kill':
    case 'deadline':
    case 'disconnect':
    case 'shutdown':
    case 'parent':
    case 'signal':
    case 'condition':
    case 'error':
      return true;
    default:
      return false;
  }
}

/**
 * A frozen reason from complete fields, checked: for code that rebuilds a reason it
 * received, such as a transport decoding a STOP frame. `stop()` and `kill()` take the
 * reason made last as it is, with no check, copy or clock read (docs/ARCHITECTURE.md,
 * "The stop path runs cold").
 *
 * @throws TypeError naming the field that is missing or wrong.
 *
 * @example
 * const reason = createReason({ kind: 'stop', message: 'user pressed stop', origin: 'web', at: Date.now() });
 * ctx.stop(reason);
 * ctx.reason === reason; // true
 */
export function createReason(fields: {
  kind: StopKind;
  message: string;
  origin: string;
  at: number;
}): CancelReason {
  if (typeof fields !== 'object' || fields === null) {
    throw new TypeError(
      `createReason(fields): fields must be an object, got ${describeArgument(fields)}`,
    );
  }
  const { kind, message, origin, at } = fields;
  if (!isStopKind(kind)) {
    throw new TypeError(
      `createReason(fields): kind must be one of ${STOP_KINDS.join(', ')}; got ${describeArgument(kind)}`,
    );
  }
  if (typeof message !== 'string') {
    throw new TypeError(
      `createReason(fields): message must be a string, got ${describeArgument(message)}`,
    );
  }
  if (typeof origin !== 'string') {
    throw new TypeError(
      `createReason(fields): origin must be a string, got ${describeArgument(origin)}`,
    );
  }
  if (typeof at !== 'number' || at - at !== 0) {
    throw new TypeError(
      `createReason(fields): at must be a finite number, got ${describeArgument(at)}`,
    );
  }
  const reason: CancelReason = Object.freeze({ kind, message, origin, at });
  lastCreated = reason;
  return reason;
}

// The reason `createReason` made last: in a transport it is about to stop a context, and
// knowing it spares that stop an Object.isFrozen call (a builtin, slow when cold).
let lastCreated: CancelReason | undefined;

/** Builds a frozen reason from caller input, filling what the caller left out. */
export function toReason(input: ReasonInput, defaultKind: StopKind, now: number): CancelReason {
  if (input === undefined) {
    return Object.freeze({
      kind: defaultKind,
      message: defaultMessage(defaultKind),
      origin: 'local',
      at: now,
    });
  }
  if (typeof input === 'string') {
    return Object.freeze({ kind: defaultKind, message: input, origin: 'local', at: now });
  }
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(
      `reason must be a string or a reason object, got ${describeArgument(input)}`,
    );
  }
  if (isFinishedReason(input)) return input;
  const kind = input.kind ?? defaultKind;
  if (!isStopKind(kind)) {
    throw new TypeError(
      `reason.kind must be one of ${STOP_KINDS.join(', ')}; got ${describeArgument(kind)}`,
    );
  }
  if (input.message !== undefined && typeof input.message !== 'string') {
    throw new TypeError(`reason.message must be a string, got ${describeArgument(input.message)}`);
  }
  if (input.origin !== undefined && typeof input.origin !== 'string') {
    throw new TypeError(`reason.origin must be a string, got ${describeArgument(input.origin)}`);
  }
  if (input.at !== undefined && !Number.isFinite(input.at)) {
    throw new TypeError(`reason.at must be a finite number, got ${describeArgument(input.at)}`);
  }
  const reason: CancelReason = {
    kind,
    message: input.message ?? defaultMessage(kind),
    origin: input.origin ?? 'local',
    at: input.at ?? now,
    ...(input.cause ? { cause: input.cause } : {}),
  };
  return Object.freeze(reason);
}

/**
 * The reason at the root of a chain of `parent` reasons: what actually happened.
 *
 * @example
 * rootCause(grandchild.reason!).kind; // 'disconnect', where grandchild.reason.kind is 'parent'
 */
export function rootCause(reason: CancelReason): CancelReason {
  let current = reason;
  while (current.kind === 'parent' && current.cause) current = current.cause;
  return current;
}

/** The reason a child gets when its parent's cancellation reaches it. */
export function parentReason(original: CancelReason, at: number): CancelReason {
  // rootCause(original), written out (docs/ARCHITECTURE.md, "The stop path runs cold").
  let cause = original;
  while (cause.kind === 'parent' && cause.cause) cause = cause.cause;
  return Object.freeze({
    kind: 'parent',
    message: `parent context ${cause.kind === 'kill' ? 'killed' : 'stopped'}: ${cause.message}`,
    origin: cause.origin,
    at,
    cause,
  });
}

/**
 * @internal A complete, frozen reason (one that crossed the wire, or another context's):
 * usable as it is, with no copy and no clock read on the stop path.
 */
export function isFinishedReason(input: ReasonInput): input is CancelReason {
  if (input === lastCreated && input !== undefined) return true;
  return (
    typeof input === 'object' && input !== null && isCompleteReason(input) && Object.isFrozen(input)
  );
}

function isCompleteReason(input: Partial<CancelReason>): boolean {
  return (
    isStopKind(input.kind) &&
    typeof input.message === 'string' &&
    typeof input.origin === 'string' &&
    typeof input.at === 'number' &&
    input.at - input.at === 0 // finite: NaN and ±Infinity give NaN (no builtin call)
  );
}

function defaultMessage(kind: StopKind): string {
  switch (kind) {
    case 'stop':
      return 'stop requested';
    case 'kill':
      return 'kill requested';
    case 'deadline':
      return 'deadline exceeded';
    case 'disconnect':
      return 'peer disconnected';
    case 'shutdown':
      return 'shutting down';
    case 'parent':
      return 'parent context cancelled';
    case 'signal':
      return 'aborted by signal';
    case 'condition':
      return 'stop condition met';
    case 'error':
      return 'stopped after an error';
  }
}
