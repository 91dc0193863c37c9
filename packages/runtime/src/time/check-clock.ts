import { type Clock, isClock } from '@andon/context';

/**
 * A `clock` option, checked: undefined, or a {@link Clock}. Throws a TypeError that starts
 * with `what` (the option's name as the user wrote it).
 */
export function checkClock(clock: unknown, what: string): Clock | undefined {
  if (clock === undefined || isClock(clock)) return clock;
  throw new TypeError(
    `${what} must be a Clock (now, setTimer and clearTimer), such as a TestClock from @andon/context`,
  );
}
