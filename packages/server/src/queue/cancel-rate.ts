/**
 * Cancellations per second over a sliding window, for the dashboard: a ring of one-second
 * buckets, so recording is O(1) and nothing is kept per cancellation.
 */
export class CancelRate {
  readonly #buckets: number[];
  readonly #windowS: number;
  #second = 0;

  constructor(windowS = 10) {
    this.#windowS = windowS;
    this.#buckets = new Array<number>(windowS).fill(0);
  }

  /** Counts one cancellation now. */
  record(now = Date.now()): void {
    this.#advance(now);
    this.#buckets[this.#second % this.#windowS]! += 1;
  }

  /** Cancellations per second over the last window (the current, partial second included). */
  perSecond(now = Date.now()): number {
    this.#advance(now);
    let total = 0;
    for (const count of this.#buckets) total += count;
    return Math.round((total / this.#windowS) * 100) / 100;
  }

  // Empties the buckets of the seconds that passed since the last call.
  #advance(now: number): void {
    const second = Math.floor(now / 1000);
    if (second === this.#second) return;
    const passed = Math.min(second - this.#second, this.#windowS);
    for (let i = 1; i <= passed; i++) this.#buckets[(this.#second + i) % this.#windowS] = 0;
    this.#second = second;
  }
}
