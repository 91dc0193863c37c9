/**
 * Time as a context sees it. Deadlines are epoch milliseconds. Swap in a {@link TestClock}
 * to move time in tests without waiting.
 *
 * @example
 * const ctx = new Context({ clock: new TestClock(Date.parse('2030-01-01')), timeoutMs: 50 });
 */
export interface Clock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Whatever a {@link Clock}'s `setTimer` returns; only its `clearTimer` reads it. */
export type TimerHandle = unknown;

/**
 * Whether `value` can serve as a {@link Clock}: an object with `now`, `setTimer` and
 * `clearTimer` functions. For checking a `clock` option before relying on it.
 *
 * @example
 * isClock(new TestClock()); // true
 * isClock(Date); // false: it has now(), but no timers
 */
export function isClock(value: unknown): value is Clock {
  const c = value as Partial<Clock> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.now === 'function' &&
    typeof c.setTimer === 'function' &&
    typeof c.clearTimer === 'function'
  );
}

// setTimeout fires at once for delays above 2^31-1 ms (about 24.8 days); long deadlines are
// reached by re-arming in steps instead.
const MAX_TIMER_DELAY = 2_147_483_647;

class LongTimer {
  handle: ReturnType<typeof setTimeout> | undefined;
  constructor(
    readonly callback: () => void,
    readonly dueAt: number,
  ) {
    this.arm();
  }
  arm(): void {
    const delay = Math.max(0, this.dueAt - Date.now());
    this.handle = setTimeout(
      () => (this.dueAt - Date.now() > 0 ? this.arm() : this.callback()),
      Math.min(delay, MAX_TIMER_DELAY),
    );
    // A deadline must never keep a process alive by itself.
    (this.handle as { unref?: () => void }).unref?.();
  }
}

/**
 * Wall-clock time with unref'd timers (a deadline never keeps a process alive). The default
 * clock of every context.
 *
 * @example
 * new Context({ clock: systemClock }).clock === systemClock; // true, and the default anyway
 */
export const systemClock: Clock = {
  now: Date.now,
  setTimer(callback, delayMs) {
    if (delayMs > MAX_TIMER_DELAY) return new LongTimer(callback, Date.now() + delayMs);
    const handle = setTimeout(callback, Math.max(0, delayMs));
    (handle as { unref?: () => void }).unref?.();
    return handle;
  },
  clearTimer(handle) {
    clearTimeout(
      handle instanceof LongTimer ? handle.handle : (handle as ReturnType<typeof setTimeout>),
    );
  },
};

interface ScheduledTimer {
  readonly dueAt: number;
  readonly order: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. Timers fire in due order during {@link advance}.
 *
 * @example
 * const clock = new TestClock(0);
 * const ctx = new Context({ clock, timeoutMs: 100 });
 * clock.advance(100);
 * ctx.reason?.kind; // 'deadline'
 */
export class TestClock implements Clock {
  #now: number;
  #order = 0;
  #timers: ScheduledTimer[] = [];

  constructor(startAt = 0) {
    if (!Number.isFinite(startAt))
      throw new TypeError(`TestClock(startAt): must be a finite number, got ${startAt}`);
    this.#now = startAt;
  }

  now(): number {
    return this.#now;
  }

  /** Timers not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const timer: ScheduledTimer = {
      dueAt: this.#now + Math.max(0, delayMs),
      order: this.#order++,
      callback,
      cancelled: false,
    };
    this.#timers.push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as ScheduledTimer;
    timer.cancelled = true;
    this.#timers = this.#timers.filter((t) => t !== timer);
  }

  /** Moves time forward by `ms`, firing every timer that comes due, in order. */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms))
      throw new TypeError(`advance(ms): must be a finite number >= 0, got ${ms}`);
    const target = this.#now + ms;
    for (;;) {
      const next = this.#nextDue(target);
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = next.dueAt;
      next.callback();
    }
    this.#now = target;
  }

  /** Sets the time (never backwards) and fires what comes due. */
  setTime(epochMs: number): void {
    this.advance(epochMs - this.#now);
  }

  #nextDue(limit: number): ScheduledTimer | undefined {
    let best: ScheduledTimer | undefined;
    for (const t of this.#timers) {
      if (t.cancelled || t.dueAt > limit) continue;
      if (!best || t.dueAt < best.dueAt || (t.dueAt === best.dueAt && t.order < best.order))
        best = t;
    }
    return best;
  }
}
