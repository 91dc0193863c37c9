import type { Subscription } from '@andon/context';
import type { TaskEvent } from './task.js';

type Listener = (event: TaskEvent) => void;

/**
 * In-process live delivery for the embedded stores: listeners per task id, called
 * synchronously in the order events are published.
 */
export class EventFeed {
  readonly #listeners = new Map<string, Set<Listener>>();

  subscribe(id: string, listener: Listener): Subscription {
    let set = this.#listeners.get(id);
    if (set === undefined) this.#listeners.set(id, (set = new Set()));
    set.add(listener);
    const dispose = () => {
      set.delete(listener);
      if (set.size === 0 && this.#listeners.get(id) === set) this.#listeners.delete(id);
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  publish(id: string, event: TaskEvent): void {
    const set = this.#listeners.get(id);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (error) {
        // Listeners are the store's own watchers; one that throws is a bug to see, not a
        // reason to starve the others.
        console.error(`[@andon/tasks] a listener of task ${id} threw:`, error);
      }
    }
  }

  /** Task ids with at least one listener (for leak checks). */
  get watchedTasks(): number {
    return this.#listeners.size;
  }
}
