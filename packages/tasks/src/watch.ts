import type { Subscription } from '@andon/context';
import { WatcherLaggedError } from './errors.js';
import type { TaskStore } from './store.js';
import { isTerminal, isTerminalEvent, type TaskEvent } from './task.js';

const PAGE = 256;
/** How long a watch waits before reading again events a shared store has not shown yet. */
const CATCH_UP_MS = 20;
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The events of one task after a given `seq`: the stored ones, then live ones as they are
 * written, ending after the terminal event. Built by hand rather than as an async
 * generator because `return()` must end a watch that is waiting for the next event (a
 * generator's `return()` would wait for that event first, and keep its subscription
 * meanwhile).
 *
 * Live events wait in a buffer of `bufferSize`. While the watch is still replaying from
 * the store an overflow costs nothing (the store has them; it reads on). Once it has
 * caught up, a watcher that falls more than `bufferSize` events behind is dropped: `next()`
 * rejects with {@link WatcherLaggedError}, which says the `seq` to resume after.
 */
export class TaskWatch implements AsyncIterableIterator<TaskEvent, undefined> {
  readonly #store: TaskStore;
  readonly #id: string;
  readonly #bufferSize: number;
  readonly #subscription: Subscription;
  #last: number;
  #page: TaskEvent[] = [];
  #live: TaskEvent[] = [];
  #replaying = true;
  // Live events were dropped while replaying: the store has them, so replay goes on.
  #overflowed = false;
  // Live events were dropped after the watch caught up: it ends with WatcherLaggedError.
  #lagged = false;
  #ended = false;
  #wake: (() => void) | undefined;
  #verify: (() => Promise<void>) | undefined;

  /**
   * `verify` runs before the first event is read; what it throws (task not found) is what
   * the first `next()` rejects with.
   */
  constructor(
    store: TaskStore,
    id: string,
    after: number,
    bufferSize: number,
    verify?: () => Promise<void>,
  ) {
    this.#verify = verify;
    this.#store = store;
    this.#id = id;
    this.#last = after;
    this.#bufferSize = bufferSize;
    this.#subscription = store.subscribe(id, (event) => this.#onLive(event));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The `seq` of the last event this watch handed out (or the `after` it started from). */
  get lastSeq(): number {
    return this.#last;
  }

  async next(): Promise<IteratorResult<TaskEvent, undefined>> {
    if (this.#verify !== undefined) {
      const verify = this.#verify;
      this.#verify = undefined;
      try {
        await verify();
      } catch (error) {
        this.#end();
        throw error;
      }
    }
    for (;;) {
      if (this.#ended) return DONE;
      const event = this.#take();
      if (event !== undefined) {
        this.#last = event.seq;
        if (isTerminalEvent(event.type)) this.#end();
        return { done: false, value: event };
      }
      if (this.#replaying) {
        await this.#readPage();
        continue;
      }
      if (this.#lagged) {
        this.#end();
        throw new WatcherLaggedError(this.#id, this.#last, this.#bufferSize);
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Ends the watch now, also while it waits for an event; the subscription is released. */
  async return(): Promise<IteratorReturnResult<undefined>> {
    this.#end();
    return DONE;
  }

  // The next event in seq order, from the page being replayed, then from the live buffer.
  // A gap in the live buffer (an overflow while replaying) sends the watch back to the store.
  #take(): TaskEvent | undefined {
    while (this.#page.length > 0) {
      const event = this.#page.shift()!;
      if (event.seq > this.#last) return event;
    }
    if (this.#replaying) return undefined;
    while (this.#live.length > 0) {
      const event = this.#live[0]!;
      if (event.seq <= this.#last) {
        this.#live.shift();
        continue;
      }
      if (event.seq === this.#last + 1) return this.#live.shift();
      this.#replaying = true;
      return undefined;
    }
    return undefined;
  }

  async #readPage(): Promise<void> {
    this.#overflowed = false;
    const page = await this.#store.events(this.#id, this.#last, PAGE);
    this.#page = page;
    if (page.length === PAGE || this.#overflowed) return;
    // A short page means the store had nothing more when it answered; whatever came since
    // is in the live buffer. A watch that starts after the terminal event (or on a task
    // removed meanwhile) would wait forever for more: it ends instead.
    this.#replaying = false;
    if (this.#live.length > 0) return;
    const newest = page.at(-1);
    if (newest !== undefined && isTerminalEvent(newest.type)) return;
    const task = await this.#store.get(this.#id);
    if (task === undefined) {
      if (newest === undefined) this.#end();
      return;
    }
    // An `after` beyond the newest event (a made-up Last-Event-ID) counts from the newest.
    if (newest === undefined && task.lastSeq < this.#last) this.#last = task.lastSeq;
    if (!isTerminal(task.status)) return;
    if (task.lastSeq > (newest?.seq ?? this.#last)) await this.#catchUp();
    else if (newest === undefined) this.#end();
  }

  /**
   * The task ended, and its last events are not readable yet: a store shared across
   * processes may show the ending before the terminal event (JetStream writes the record,
   * then the event). Read again shortly rather than end without them, or wait for live
   * events that were written before this watch subscribed.
   */
  async #catchUp(): Promise<void> {
    this.#replaying = true;
    await new Promise((resolve) => setTimeout(resolve, CATCH_UP_MS));
  }

  #onLive(event: TaskEvent): void {
    if (this.#ended || this.#lagged) return;
    if (this.#live.length < this.#bufferSize) {
      this.#live.push(event);
    } else if (this.#replaying) {
      this.#live = [];
      this.#overflowed = true;
    } else {
      this.#live = [];
      this.#lagged = true;
      this.#subscription.dispose();
    }
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#page = [];
    this.#live = [];
    this.#subscription.dispose();
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
