import type { TaskEnding, TaskRecord } from './task.js';

/** The record of a task that just ended with `ending`, as every store writes it. */
export function endedRecord(
  record: TaskRecord,
  ending: TaskEnding,
  at: number,
  expiresAt: number,
): TaskRecord {
  const { status } = ending;
  return {
    ...record,
    status,
    finishedAt: at,
    expiresAt,
    // null, not undefined: what the terminal event says and what a stored copy reads back.
    ...(status === 'completed'
      ? { finalValue: ending.finalValue ?? null }
      : { error: ending.error }),
    ...('reason' in ending ? { reason: ending.reason } : {}),
  };
}
