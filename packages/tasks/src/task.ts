import type { CancelReason } from '@andon/context';

/**
 * Where a task is. It moves `queued → running → one terminal status`, or straight from
 * `queued` to a terminal one, and never back: exactly one terminal status per task, even
 * when a cancel, a timeout and the handler's own end race.
 */
export type TaskStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'timed_out';

/** The statuses a task ends in. */
export type TerminalStatus = Exclude<TaskStatus, 'queued' | 'running'>;

/** Every status, in lifecycle order. */
export const TASK_STATUSES: readonly TaskStatus[] = Object.freeze([
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
  'timed_out',
]);

/**
 * True for `completed`, `failed`, `cancelled` and `timed_out`.
 *
 * @example
 * if (isTerminal(task.status)) console.log('finished:', task.status);
 */
export function isTerminal(status: TaskStatus): status is TerminalStatus {
  return status !== 'queued' && status !== 'running';
}

/**
 * One task as the store keeps it. Plain JSON apart from nothing: it crosses processes and
 * survives restarts as it is.
 */
export interface TaskRecord {
  /** Unique across all kinds (a UUID unless the creator chose one). */
  readonly id: string;
  readonly app: string;
  readonly model: string;
  readonly status: TaskStatus;
  /** What the task was created with, as the kind accepted it. */
  readonly input: unknown;
  /** Who created it, when the creator said (an API key's user); absent for anonymous tasks. */
  readonly owner?: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  /** After this (epoch ms) a finished task and its events may be removed. */
  readonly expiresAt?: number;
  /** For `completed`: what the handler returned. */
  readonly finalValue?: unknown;
  /** For `failed`, `cancelled` and `timed_out`: what happened, in words. */
  readonly error?: string;
  /** For `cancelled` and `timed_out`: the reason the task's Context was stopped with. */
  readonly reason?: CancelReason;
  /** The `seq` of the newest event (0: none yet). */
  readonly lastSeq: number;
}

/**
 * One event of a task. `seq` starts at 1 and grows by one per event of that task, so a
 * watcher that saw `seq` n resumes with `after: n` and misses nothing.
 */
export interface TaskEvent {
  readonly seq: number;
  /** `progress`, a kind's own type, or one of the {@link TERMINAL_EVENT_TYPES}. */
  readonly type: string;
  readonly data: unknown;
  /** Epoch milliseconds. */
  readonly timestamp: number;
}

/**
 * The events that end a task's stream; every watcher receives exactly one of them, last:
 * `complete { final_value }`, `error { message }`, `cancelled { message, reason }`,
 * `timeout { message }`.
 */
export type TerminalEventType = 'complete' | 'error' | 'cancelled' | 'timeout';

/** The terminal event types, which handlers may not emit themselves. */
export const TERMINAL_EVENT_TYPES: readonly TerminalEventType[] = Object.freeze([
  'complete',
  'error',
  'cancelled',
  'timeout',
]);

/** True when `type` is one of the {@link TERMINAL_EVENT_TYPES}. */
export function isTerminalEvent(type: string): type is TerminalEventType {
  return (TERMINAL_EVENT_TYPES as readonly string[]).includes(type);
}

/**
 * How a task ended: its terminal status, and what its record and terminal event say. The
 * store writes the status and the event together, or neither.
 */
export type TaskEnding =
  | { readonly status: 'completed'; readonly finalValue: unknown }
  | { readonly status: 'failed'; readonly error: string }
  | { readonly status: 'cancelled'; readonly error: string; readonly reason: CancelReason }
  | { readonly status: 'timed_out'; readonly error: string; readonly reason: CancelReason };

/** The terminal event a {@link TaskEnding} is announced with. */
export function terminalEventOf(ending: TaskEnding): { type: TerminalEventType; data: unknown } {
  switch (ending.status) {
    case 'completed':
      return { type: 'complete', data: { final_value: ending.finalValue ?? null } };
    case 'failed':
      return { type: 'error', data: { message: ending.error } };
    case 'cancelled':
      return { type: 'cancelled', data: { message: ending.error, reason: ending.reason } };
    case 'timed_out':
      return { type: 'timeout', data: { message: ending.error } };
  }
}

/** Which tasks {@link TaskStore.list} returns; every field narrows. */
export interface TaskFilter {
  status?: TaskStatus | readonly TaskStatus[];
  app?: string;
  model?: string;
  owner?: string;
  /** At most this many, newest first. */
  limit?: number;
}
