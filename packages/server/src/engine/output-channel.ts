import type { EngineChunk, EngineUsage, FinishReason } from '../backend.js';

interface Waiter {
  resolve(result: IteratorResult<EngineChunk>): void;
  reject(error: unknown): void;
}

/**
 * The per-request output of the engine: a single-consumer async iterable of chunks.
 *
 * The buffer never grows by item: tokens that arrive while the reader is busy are merged into
 * one pending chunk, as vLLM's output collector does. How many tokens may wait unread is the
 * engine's business ({@link unreadTokens}, and `onTake` when the reader empties the buffer):
 * it parks a sequence whose reader fell behind, so a reader that stops reading (a paused
 * client) stops the decoding too, within a bound.
 */
export class OutputChannel implements AsyncIterable<EngineChunk> {
  #pending: EngineChunk | undefined;
  #final: EngineChunk | undefined;
  #error: unknown;
  #failed = false;
  #closed = false;
  #waiter: Waiter | undefined;
  #iterated = false;
  readonly #onReturn: () => void;
  readonly #onTake: () => void;

  /**
   * @param onReturn called when the reader leaves early (break, return, throw).
   * @param onTake called after the reader took the pending text (the buffer is empty again).
   */
  constructor(onReturn: () => void, onTake: () => void = () => {}) {
    this.#onReturn = onReturn;
    this.#onTake = onTake;
  }

  /** Tokens generated and pushed that the reader has not taken yet. */
  get unreadTokens(): number {
    return this.#pending?.tokens ?? 0;
  }

  /** Adds generated text; merged with text the reader has not taken yet. */
  push(text: string, tokens: number): void {
    if (this.#closed || this.#final || this.#failed) return;
    if (this.#pending) {
      this.#pending.text += text;
      this.#pending.tokens += tokens;
    } else {
      this.#pending = { text, tokens };
    }
    this.#wake();
  }

  /** Ends the stream normally; the last chunk carries the finish reason and usage. */
  finish(text: string, tokens: number, finishReason: FinishReason, usage: EngineUsage): void {
    if (this.#closed || this.#final || this.#failed) return;
    const pending = this.#pending;
    this.#pending = undefined;
    this.#final = {
      text: (pending?.text ?? '') + text,
      tokens: (pending?.tokens ?? 0) + tokens,
      finishReason,
      usage,
    };
    this.#wake();
  }

  /**
   * Ends the stream with an error. With `keepPending`, text already generated is delivered
   * first (a graceful stop: what was produced stays valid); otherwise it is dropped.
   */
  fail(error: unknown, keepPending: boolean): void {
    if (this.#closed || this.#final || this.#failed) return;
    if (!keepPending) this.#pending = undefined;
    this.#failed = true;
    this.#error = error;
    this.#wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<EngineChunk> {
    if (this.#iterated) throw new TypeError('an engine output stream can be read only once');
    this.#iterated = true;
    return {
      next: () => this.#next(),
      return: async () => {
        if (!this.#closed) {
          this.#closed = true;
          this.#pending = undefined;
          this.#onReturn();
          this.#waiter?.resolve({ value: undefined, done: true });
          this.#waiter = undefined;
        }
        return { value: undefined, done: true };
      },
    };
  }

  #next(): Promise<IteratorResult<EngineChunk>> {
    const ready = this.#take();
    if (ready) return ready;
    if (this.#waiter)
      return Promise.reject(new TypeError('next() called before the last resolved'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  #take(): Promise<IteratorResult<EngineChunk>> | undefined {
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    if (this.#pending) {
      const value = this.#pending;
      this.#pending = undefined;
      this.#onTake();
      return Promise.resolve({ value, done: false });
    }
    if (this.#final) {
      const value = this.#final;
      this.#closed = true;
      return Promise.resolve({ value, done: false });
    }
    if (this.#failed) {
      this.#closed = true;
      return Promise.reject(this.#error);
    }
    return undefined;
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    const ready = this.#take();
    if (!ready) return;
    this.#waiter = undefined;
    ready.then(waiter.resolve, waiter.reject);
  }
}
