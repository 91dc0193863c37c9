import type { Subscription } from '@andon/context';
import type { TaskRecord } from './task.js';

type Listener = (task: TaskRecord) => void;

/**
 * In-process delivery of status changes for the embedded stores: every listener gets the
 * task's record after each change, in the order the changes were written.
 */
export class ChangeFeed {
  readonly #listeners = new Set<Listener>();

  watch(listener: Listener): Subscription {
    this.#listeners.add(listener);
    const dispose = () => void this.#listeners.delete(listener);
    return { dispose, [Symbol.dispose]: dispose };
  }

  publish(task: TaskRecord): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(task);
      } catch (error) {
        // One broken listener must not keep a change from the others.
        console.error(`[@andon/tasks] a status listener threw on task ${task.id}:`, error);
      }
    }
  }

  /** Listeners registered (for leak checks). */
  get size(): number {
    return this.#listeners.size;
  }
}
