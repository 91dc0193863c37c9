/**
 * @andon/tasks: work that outlives one HTTP request. Task kinds (`app/model`), a queue with
 * per-kind concurrency, events that stream to every watcher, a cancel that always lands,
 * timeouts, and graceful shutdown. Stores: memory here, SQLite in `@andon/tasks/sqlite`.
 *
 * @example
 * import { TaskManager } from '@andon/tasks';
 * import { SqliteStore } from '@andon/tasks/sqlite';
 * const tasks = await TaskManager.open({ store: new SqliteStore({ path: 'tasks.db' }) });
 *
 * @packageDocumentation
 */

export { defaultDataDir, defaultStorePath } from './data-dir.js';
export {
  QueueFullError,
  ShuttingDownError,
  TaskError,
  TaskExistsError,
  TaskInputError,
  TaskNotFoundError,
  UnknownKindError,
  WatcherLaggedError,
} from './errors.js';
export type { KindOptions, TaskHandle, TaskHandler } from './kind.js';
export {
  type CancelOptions,
  type CreateOptions,
  type KindStats,
  type QueueSnapshot,
  TaskManager,
  type TaskManagerOptions,
  type WatchOptions,
} from './manager.js';
export { MemoryStore } from './memory-store.js';
export { isSharedStore, type SharedTaskStore } from './shared-store.js';
export type { TaskStore } from './store.js';
export {
  isTerminal,
  isTerminalEvent,
  TASK_STATUSES,
  type TaskEnding,
  type TaskEvent,
  type TaskFilter,
  type TaskRecord,
  type TaskStatus,
  TERMINAL_EVENT_TYPES,
  type TerminalEventType,
  type TerminalStatus,
  terminalEventOf,
} from './task.js';
export type { TaskWatch } from './watch.js';
