/**
 * Finds stop strings in streamed text. Text that could still turn out to be the start of a
 * stop string is held back, so a stop string split across tokens is never half-sent.
 */
export class StopStringMatcher {
  readonly #stops: readonly string[];
  #held = '';

  constructor(stops: readonly string[] | undefined) {
    this.#stops = (stops ?? []).filter((stop) => stop.length > 0);
  }

  /**
   * Adds text. Returns what is safe to send and whether a stop string was found (the stop
   * string and anything after it are dropped).
   */
  push(text: string): { emit: string; matched: boolean } {
    if (this.#stops.length === 0) return { emit: text, matched: false };
    const buffer = this.#held + text;
    let first = -1;
    for (const stop of this.#stops) {
      const at = buffer.indexOf(stop);
      if (at !== -1 && (first === -1 || at < first)) first = at;
    }
    if (first !== -1) {
      this.#held = '';
      return { emit: buffer.slice(0, first), matched: true };
    }
    const keep = this.#longestPrefixSuffix(buffer);
    this.#held = buffer.slice(buffer.length - keep);
    return { emit: buffer.slice(0, buffer.length - keep), matched: false };
  }

  /** Releases the held text at the end of the sequence (no stop string came). */
  flush(): string {
    const held = this.#held;
    this.#held = '';
    return held;
  }

  // The longest suffix of `buffer` that is a proper prefix of some stop string.
  #longestPrefixSuffix(buffer: string): number {
    let best = 0;
    for (const stop of this.#stops) {
      const max = Math.min(stop.length - 1, buffer.length);
      for (let length = max; length > best; length--) {
        if (buffer.endsWith(stop.slice(0, length))) {
          best = length;
          break;
        }
      }
    }
    return best;
  }
}
