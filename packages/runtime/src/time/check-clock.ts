import type { Clock } from '@andon/context';

/**
 * A `clock` option, checked: undefined, or something with `now`, `setTimer` and
 * `clearTimer`. Throws a TypeError that starts with `what` (the option's name as the
 * user wrote it).
 */
export function checkClock(clock: unknown, what: string): Clock | undefined {
  if (clock === undefined) return undefined;
  const c = clock as Partial<Clock> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.now !== 'function' ||
    typeof c.setTimer !== 'function' ||
    typeof c.clearTimer !== 'function'
  ) {
    throw new TypeError(
      `${what} must be a Clock (now, setTimer and clearTimer), such as a TestClock from @andon/context`,
    );
  }
  return c as Clock;
}
