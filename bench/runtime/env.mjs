/** A whole number from the environment, or `fallback` when unset; a TypeError names a bad one. */
export function intFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  }
  return value;
}
