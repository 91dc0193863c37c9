const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/**
 * Checks an app or model name: 1–64 letters, digits, `_`, `.`, `-`, starting with a letter
 * or digit, so that `app/model/id` is a URL path and a store key as it is.
 *
 * @throws TypeError naming the argument and what it got.
 */
export function checkKindName(where: string, what: 'app' | 'model', value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new TypeError(
      `${where}: ${what} must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter or digit), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * Checks a task id chosen by a creator: 1–128 letters, digits, `_`, `.`, `:`, `-`.
 *
 * @throws TypeError naming what it got.
 */
export function checkTaskId(where: string, value: unknown): string {
  if (typeof value !== 'string' || !ID.test(value)) {
    throw new TypeError(
      `${where}: id must be 1-128 letters, digits, '_', '.', ':' or '-' (starting with a letter or digit), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** True when `value` could be a task id (for lookups, which answer "not found" otherwise). */
export function isTaskId(value: string): boolean {
  return ID.test(value);
}
