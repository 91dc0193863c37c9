/** The input of a built-in kind as an object, or a TypeError saying what it must be. */
export function objectInput(
  input: unknown,
  kind: string,
  example: string,
): Record<string, unknown> {
  if (input === null || input === undefined) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new TypeError(`the input of ${kind} must be a JSON object such as ${example}`);
  }
  return input as Record<string, unknown>;
}

/** A whole number field in `min..max`, or `fallback` when absent. */
export function wholeField(
  fields: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const value = fields[name];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
