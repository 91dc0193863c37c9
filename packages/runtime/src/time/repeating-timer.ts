import type { Clock, TimerHandle } from '@andon/context';

/**
 * Calls `tick` every `everyMs` on `clock` until {@link stop}: the repeating timer a
 * {@link Clock} does not have (it offers one-shot timers only), so that heartbeats, lease
 * renewals and polls move with a `TestClock` in tests. Like the clock's timers, it never
 * keeps the process alive by itself.
 */
export class RepeatingTimer {
  #handle: TimerHandle | undefined;
  #stopped = false;

  constructor(
    private readonly clock: Clock,
    readonly everyMs: number,
    private readonly tick: () => void,
  ) {
    this.#arm();
  }

  /** No tick after this returns, including from inside `tick` itself. */
  stop(): void {
    this.#stopped = true;
    if (this.#handle !== undefined) this.clock.clearTimer(this.#handle);
    this.#handle = undefined;
  }

  #arm(): void {
    this.#handle = this.clock.setTimer(() => {
      if (this.#stopped) return;
      // Re-armed first, so a tick that throws does not end the repetition (as setInterval).
      this.#arm();
      this.tick();
    }, this.everyMs);
  }
}
