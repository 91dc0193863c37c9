// The checks behind the numeric options of this package: the engine's (`SimulatedEngine`),
// the engine limits (`engineHandler`) and the WebSocket queue's (`OpenAIServer`'s
// `webSocket`). One wording, one error class, as in @andon/runtime's option-checks.ts:
// `what` is the option as the user wrote it, e.g. `SimulatedEngine: slots`; a bad value is
// a TypeError, whether its type or its range is wrong (as every other argument check here,
// and in @andon/context and @andon/runtime), that names it and shows what was given.

/** Throws the TypeError of every check here: `<what> must be <rule>, got <value>`. */
export function refuse(what: string, rule: string, value: unknown): never {
  throw new TypeError(`${what} must be ${rule}, got ${shown(value)}`);
}

/** `value` if it is an integer of 1 or more. */
export function positiveInteger(what: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) refuse(what, 'an integer >= 1', value);
  return value as number;
}

/** `value` if it is an integer of 0 or more. */
export function nonNegativeInteger(what: string, value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) refuse(what, 'an integer >= 0', value);
  return value as number;
}

/** `value` if it is a finite number above 0. */
export function positiveNumber(what: string, value: unknown): number {
  if (!isFiniteNumber(value) || value <= 0) refuse(what, 'a number > 0', value);
  return value;
}

/** `value` if it is a finite number of 0 or more. */
export function nonNegativeNumber(what: string, value: unknown): number {
  if (!isFiniteNumber(value) || value < 0) refuse(what, 'a finite number >= 0', value);
  return value;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

// A string is quoted, so that `got "4"` is not read as the number 4; numbers show as
// themselves (JSON would show NaN and Infinity as null).
function shown(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
