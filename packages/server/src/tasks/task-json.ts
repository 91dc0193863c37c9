import type { TaskRecord } from '@andon/tasks';

/** A task as the HTTP API shows it: snake_case, ISO 8601 times, absent fields left out. */
export interface TaskJson {
  id: string;
  object: 'task';
  app: string;
  model: string;
  status: TaskRecord['status'];
  created_at: string;
  started_at?: string;
  finished_at?: string;
  expires_at?: string;
  owner?: string;
  input: unknown;
  final_value?: unknown;
  error?: string;
  reason?: TaskRecord['reason'];
  /** The seq of the newest event: `GET …/events` with `Last-Event-ID` at or past it after the end gets 204. */
  last_seq: number;
}

/** The JSON of one task. */
export function taskJson(task: TaskRecord): TaskJson {
  return {
    id: task.id,
    object: 'task',
    app: task.app,
    model: task.model,
    status: task.status,
    created_at: iso(task.createdAt),
    ...(task.startedAt === undefined ? {} : { started_at: iso(task.startedAt) }),
    ...(task.finishedAt === undefined ? {} : { finished_at: iso(task.finishedAt) }),
    ...(task.expiresAt === undefined ? {} : { expires_at: iso(task.expiresAt) }),
    ...(task.owner === undefined ? {} : { owner: task.owner }),
    input: task.input,
    ...(task.status === 'completed' ? { final_value: task.finalValue ?? null } : {}),
    ...(task.error === undefined ? {} : { error: task.error }),
    ...(task.reason === undefined ? {} : { reason: task.reason }),
    last_seq: task.lastSeq,
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
