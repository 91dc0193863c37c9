import type { TaskStore } from './store.js';
import type { TaskRecord } from './task.js';

/**
 * A {@link TaskStore} that several processes share, each running a {@link TaskManager} on
 * it: the queue is one queue across them all, any of them may cancel any task, and a
 * task's runner is whichever process took it. `@andon/tasks/jetstream` gives one.
 *
 * What it adds to the store's guarantees:
 * - `start` takes a queued task for this process: of racing starts from any processes,
 *   exactly one wins, and the task's runner is that process.
 * - `watchTasks` and `subscribe` deliver every process's changes and events.
 * - A process that stops renewing its liveness for `livenessMs` is gone:
 *   {@link lostTasks} names the tasks it was running.
 */
export interface SharedTaskStore extends TaskStore {
  /** This process, as the runner of the tasks it starts. */
  readonly processId: string;
  /** How long a process may stay silent before its running tasks count as lost. */
  readonly livenessMs: number;
  /** Every process's queued tasks, in submit order, as this process knows them now. */
  queued(): TaskRecord[];
  /** Every process's running tasks, oldest first, as this process knows them now. */
  running(): TaskRecord[];
  /** Running tasks whose runner is gone (silent for longer than `livenessMs`). */
  lostTasks(): Promise<TaskRecord[]>;
}

/** True for a store shared between processes. */
export function isSharedStore(store: TaskStore): store is SharedTaskStore {
  return typeof (store as Partial<SharedTaskStore>).lostTasks === 'function';
}
