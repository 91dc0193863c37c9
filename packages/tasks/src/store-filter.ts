import type { TaskFilter, TaskRecord } from './task.js';

/** True when `record` passes every field of `filter`. */
export function matchesFilter(record: TaskRecord, filter: TaskFilter): boolean {
  const { status, app, model, owner } = filter;
  if (status !== undefined) {
    const wanted = typeof status === 'string' ? [status] : status;
    if (!wanted.includes(record.status)) return false;
  }
  if (app !== undefined && record.app !== app) return false;
  if (model !== undefined && record.model !== model) return false;
  if (owner !== undefined && record.owner !== owner) return false;
  return true;
}

/** Sort order of listings: newest first. */
export function newestFirst(a: TaskRecord, b: TaskRecord): number {
  return b.createdAt - a.createdAt;
}
