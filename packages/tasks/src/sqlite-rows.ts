import type { CancelReason } from '@andon/context';
import type { TaskEvent, TaskRecord, TaskStatus } from './task.js';

/** A row of the `tasks` table, as better-sqlite3 returns it. */
export interface TaskRow {
  id: string;
  app: string;
  model: string;
  status: TaskStatus;
  input: string;
  owner: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  expires_at: number | null;
  final_value: string | null;
  error: string | null;
  reason: string | null;
  last_seq: number;
}

/** A row of the `events` table, without its task id. */
export interface EventRow {
  seq: number;
  type: string;
  data: string;
  timestamp: number;
}

/**
 * `value` as JSON text. `undefined` (and anything else JSON has no text for) becomes
 * `null`, the value a reader of the stored text would see anyway.
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/**
 * The record a row holds, shaped as MemoryStore's: absent fields are missing, never
 * `null`, so a record compares equal whichever store it came from.
 */
export function recordOf(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    app: row.app,
    model: row.model,
    status: row.status,
    input: JSON.parse(row.input),
    ...(row.owner === null ? {} : { owner: row.owner }),
    createdAt: row.created_at,
    ...(row.started_at === null ? {} : { startedAt: row.started_at }),
    ...(row.finished_at === null ? {} : { finishedAt: row.finished_at }),
    ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
    ...(row.final_value === null ? {} : { finalValue: JSON.parse(row.final_value) }),
    ...(row.error === null ? {} : { error: row.error }),
    ...(row.reason === null ? {} : { reason: JSON.parse(row.reason) as CancelReason }),
    lastSeq: row.last_seq,
  };
}

/** The event a row holds, frozen like MemoryStore's. */
export function eventOf(row: EventRow): TaskEvent {
  return Object.freeze({
    seq: row.seq,
    type: row.type,
    data: JSON.parse(row.data),
    timestamp: row.timestamp,
  });
}
