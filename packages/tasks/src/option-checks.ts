// The checks behind the numeric options of this package: TaskManager.open's, a kind's
// (define), a watch's (events), shutdown's and JetStreamStore.open's. One wording, one
// error class, as in @andon/runtime's and @andon/server's option-checks.ts: `what` is the
// option as the user wrote it, e.g. `TaskManager.open(options): options.concurrency`; a bad
// value is a TypeError, whether its type or its range is wrong (as every other argument
// check here is), that names it and shows what was given.

/** Throws the TypeError of every check here: `<what> must be <rule>, got <value>`. */
export function refuse(what: string, rule: string, value: unknown): never {
  throw new TypeError(`${what} must be ${rule}, got ${shown(value)}`);
}

/** `value` if it is a finite number above 0. */
export function positiveNumber(what: string, value: unknown): number {
  if (!isFiniteNumber(value) || value <= 0) refuse(what, 'a number > 0', value);
  return value;
}

/** `value` if it is a finite number of 0 or more. */
export function nonNegativeNumber(what: string, value: unknown): number {
  return numberAtLeast(what, value, 0);
}

/** `value` if it is a finite number of `min` or more. */
export function numberAtLeast(what: string, value: unknown, min: number): number {
  if (!isFiniteNumber(value) || value < min) refuse(what, `a number >= ${min}`, value);
  return value;
}

/** `value` if it is an integer of 0 or more. */
export function nonNegativeInteger(what: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) refuse(what, 'an integer >= 0', value);
  return value as number;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

// A string is quoted, so that `got "4"` is not read as the number 4; numbers show as
// themselves (JSON would show NaN and Infinity as null).
function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
