import { type Clock, systemClock } from '@andon/context';

/**
 * The runtime's clock when none is given: the system's timers, and a `now()` that moves
 * only forward at the rate of real time (the wall clock read once at start, plus monotonic
 * time since). Heartbeats and lease expiry measure silences with it, so a wall-clock step
 * (NTP, a suspended laptop's resync) neither declares every peer lost at once nor keeps a
 * dead one alive.
 *
 * Not for times compared across processes (a lease's `renewedAt`): those are wall-clock
 * epoch milliseconds, read from `systemClock`.
 */
export const steadyClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer: systemClock.setTimer,
  clearTimer: systemClock.clearTimer,
};
