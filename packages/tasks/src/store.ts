import type { Subscription } from '@andon/context';
import type { TaskEnding, TaskEvent, TaskFilter, TaskRecord } from './task.js';

/**
 * Where tasks and their events live. The {@link TaskManager} is the only writer it needs;
 * watchers read through it. Every method is async so that a store across machines fits
 * the same shape as the embedded ones.
 *
 * What a store guarantees (the conformance suite in `test/store-conformance.ts` checks
 * each, for every store):
 * - `finish` is a compare-and-set: of any number of racing calls for one task, exactly one
 *   writes the terminal status and its terminal event, together; the others get
 *   `undefined`. After it, `append` and `start` change nothing.
 * - `seq` is per task, starts at 1 and has no gaps; the terminal event is the last one.
 *   Appends to one task land in the order they were called, even when not awaited.
 * - `subscribe` listeners see every event written after they subscribed, in `seq` order,
 *   the terminal one included.
 * - What a store keeps on disk survives a restart; `failUnfinished` then ends what the
 *   previous process left `queued` or `running`.
 *
 * @example
 * const store = new MemoryStore();
 * await store.insert({ id: 't1', app: 'demo', model: 'Count', status: 'queued',
 *   input: {}, createdAt: Date.now(), lastSeq: 0 });
 * await store.append('t1', 'progress', { step: 1 }, Date.now()); // seq 1
 */
export interface TaskStore {
  /**
   * Adds a task, which must be `queued` with `lastSeq` 0.
   *
   * @throws TaskExistsError when a task with that id exists.
   */
  insert(record: TaskRecord): Promise<void>;
  get(id: string): Promise<TaskRecord | undefined>;
  /** Matching tasks, newest first. */
  list(filter?: TaskFilter): Promise<TaskRecord[]>;
  /** `queued → running`. Resolves with the updated task, or `undefined` when it was not queued. */
  start(id: string, at: number): Promise<TaskRecord | undefined>;
  /** Appends an event to an unfinished task; `undefined` when it is finished or unknown. */
  append(id: string, type: string, data: unknown, at: number): Promise<TaskEvent | undefined>;
  /**
   * Ends an unfinished task: its terminal status and its terminal event, together.
   * Resolves with that event, or `undefined` when the task had already ended (or is unknown).
   */
  finish(
    id: string,
    ending: TaskEnding,
    at: number,
    expiresAt: number,
  ): Promise<TaskEvent | undefined>;
  /** Stored events with `seq > after`, oldest first, at most `limit`. */
  events(id: string, after: number, limit?: number): Promise<TaskEvent[]>;
  /**
   * Calls `listener` with each event of task `id` written from now on, in order. The
   * embedded stores see only the writes made through this instance; a store shared across
   * processes delivers every process's.
   */
  subscribe(id: string, listener: (event: TaskEvent) => void): Subscription;
  /**
   * Calls `listener` with a task's record after every change of its status from now on:
   * created (`queued`), `running`, and its end (also through `failUnfinished`), in order.
   * The same reach as {@link subscribe}.
   */
  watchTasks(listener: (task: TaskRecord) => void): Subscription;
  /**
   * Ends every task left `queued` or `running` (by a process that crashed) as `failed` with
   * `message`; resolves with the tasks it ended, as they are now.
   */
  failUnfinished(
    message: string,
    at: number,
    expiresAt: (task: TaskRecord) => number,
  ): Promise<TaskRecord[]>;
  /** Removes finished tasks whose `expiresAt` is at or before `now`, with their events. */
  purgeExpired(now: number): Promise<number>;
  /** Releases the store (files, connections). Idempotent. */
  close(): Promise<void>;
}
