import { describe } from '../discovery/check.js';

// Both NATS subject families (the transport's and discovery's) start with a configurable
// prefix; this is the one rule for it.

const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Throws a TypeError naming `what` unless `value` is a valid subject prefix: dot-separated
 * tokens of letters, digits, '_' or '-', at most 128 characters.
 */
export function checkSubjectPrefix(value: unknown, what = 'options.subjectPrefix'): string {
  if (typeof value !== 'string' || !PREFIX.test(value) || value.length > 128) {
    throw new TypeError(
      `${what} must be dot-separated tokens of letters, digits, '_' or '-' (at most 128 characters); got ${describe(value)}`,
    );
  }
  return value;
}
