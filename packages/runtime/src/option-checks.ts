// The checks behind every numeric option of the runtime (Runtime.start, shutdown,
// FileDiscovery, NatsDiscovery): one wording, one error class. `what` is the option as the
// user wrote it, e.g. `Runtime.start: options.window`; a bad value is a TypeError that names
// it and shows what was given.

function refuse(what: string, rule: string, value: unknown): never {
  // String() for numbers: JSON would show NaN and Infinity as null.
  const shown =
    typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value));
  throw new TypeError(`${what} must be ${rule}, got ${shown}`);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** `value`, or `fallback` when it is undefined; a finite number above 0. */
export function positiveNumber(what: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isFiniteNumber(value) || value <= 0) refuse(what, 'a positive number', value);
  return value;
}

/** `value`, or `fallback` when it is undefined; an integer above 0. */
export function positiveInteger(what: string, value: unknown, fallback: number): number {
  const result = positiveNumber(what, value, fallback);
  if (!Number.isInteger(result)) refuse(what, 'an integer', result);
  return result;
}

/** `value`, or `fallback` when it is undefined; a finite number of 0 or more. */
export function nonNegativeNumber(what: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isFiniteNumber(value) || value < 0) refuse(what, 'a number >= 0', value);
  return value;
}

/** `value` (already checked to be a number), refused above `max`. */
export function atMost(what: string, value: number, max: number): number {
  if (value > max) refuse(what, `at most ${max}`, value);
  return value;
}

/** `value`, or `fallback` when it is undefined; a finite number in [min, max]. */
export function numberBetween(
  what: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!isFiniteNumber(value) || value < min || value > max)
    refuse(what, `a number in [${min}, ${max}]`, value);
  return value;
}
