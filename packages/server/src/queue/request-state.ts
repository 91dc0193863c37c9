import type { TaskEvent, TaskRecord } from '@andon/tasks';
import type { DashboardRow, QueueServerMessage, RequestState } from './protocol.js';

/** A task as the queue shows it: `request_id` is the task id, `kind` is `app/model`. */
export function requestState(task: TaskRecord, position = 0): RequestState {
  return {
    request_id: task.id,
    kind: `${task.app}/${task.model}`,
    status: task.status,
    ...(task.status === 'queued' && position > 0 ? { position } : {}),
    created_at: iso(task.createdAt),
    ...(task.startedAt === undefined ? {} : { started_at: iso(task.startedAt) }),
    ...(task.finishedAt === undefined ? {} : { finished_at: iso(task.finishedAt) }),
    ...(task.status === 'completed' ? { final_value: task.finalValue ?? null } : {}),
    ...(task.error === undefined ? {} : { error: task.error }),
    ...(task.reason === undefined ? {} : { reason: task.reason }),
    last_seq: task.lastSeq,
  };
}

/** A dashboard row: the state plus the owner and the data of the latest progress event. */
export function dashboardRow(task: TaskRecord, position: number, progress: unknown): DashboardRow {
  return { ...requestState(task, position), owner: task.owner ?? null, progress };
}

// The terminal event types of @andon/tasks and the statuses they end a task with.
const ENDINGS: Readonly<Record<string, string>> = {
  complete: 'completed',
  error: 'failed',
  cancelled: 'cancelled',
  timeout: 'timed_out',
};

/**
 * The push for one event of a request: `progress` for an event before the end, `result`
 * for the terminal one (which carries what the result needs, so no second read).
 */
export function pushOf(id: string, event: TaskEvent): QueueServerMessage {
  const status = ENDINGS[event.type];
  if (status === undefined) {
    return {
      type: 'progress',
      request_id: id,
      seq: event.seq,
      event: event.type,
      data: event.data,
    };
  }
  const data = (event.data ?? {}) as {
    final_value?: unknown;
    message?: string;
    reason?: unknown;
  };
  return {
    type: 'result',
    request_id: id,
    status,
    ...(status === 'completed' ? { final_value: data.final_value ?? null } : {}),
    ...(status !== 'completed' && data.message !== undefined ? { error: data.message } : {}),
    ...(data.reason === undefined ? {} : { reason: data.reason }),
  };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
