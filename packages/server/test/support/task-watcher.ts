import { EventSource } from 'eventsource';

/** One SSE event as an EventSource client saw it. */
export interface SeenEvent {
  type: string;
  id: string;
  data: Record<string, unknown>;
}

// The event names the task API sends; an EventSource only reports names it listens for.
const TYPES = ['start', 'progress', 'complete', 'error', 'cancelled', 'timeout', 'lagged'];
const TERMINAL = new Set(['complete', 'error', 'cancelled', 'timeout']);

/**
 * A real EventSource (the `eventsource` package, the WHATWG client for Node) on a task's
 * event stream, recording what it receives. `closed` resolves once the client has given
 * up for good: the server answered a reconnect with 204 (or another non-200).
 */
export class TaskWatcher {
  readonly events: SeenEvent[] = [];
  readonly source: EventSource;
  readonly closed: Promise<number | undefined>;
  readonly #waiters = new Set<() => void>();

  constructor(url: string) {
    this.source = new EventSource(url);
    for (const type of TYPES) {
      this.source.addEventListener(type, (event) => {
        const message = event as MessageEvent<string>;
        // A connection failure is an `error` event too, without data.
        if (typeof message.data !== 'string') return;
        this.events.push({ type, id: message.lastEventId, data: JSON.parse(message.data) });
        for (const wake of this.#waiters) wake();
      });
    }
    this.closed = new Promise((resolve) => {
      this.source.addEventListener('error', (event) => {
        if (this.source.readyState === this.source.CLOSED) {
          resolve((event as unknown as { code?: number }).code);
        }
      });
    });
  }

  /** The terminal events received (a correct stream has exactly one). */
  get terminals(): SeenEvent[] {
    return this.events.filter((event) => TERMINAL.has(event.type));
  }

  /** Resolves once an event satisfying `predicate` arrived; rejects after `ms`. */
  until(predicate: (event: SeenEvent) => boolean, ms = 10_000): Promise<SeenEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.events.find(predicate);
        if (found === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no matching event within ${ms} ms; got ${JSON.stringify(this.events)}`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  close(): void {
    this.source.close();
  }
}
