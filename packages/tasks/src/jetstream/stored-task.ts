import type { TaskRecord } from '../task.js';

/**
 * A task as its KV entry holds it: the record every store gives back, and what only the
 * shared store needs beside it, kept out of the record so that every store's records look
 * the same.
 */
export interface StoredTask {
  readonly task: TaskRecord;
  /**
   * Submit order across every process: the KV revision at which the task was created.
   * Absent in the entry written by `insert` itself (the revision is known only after).
   */
  readonly order?: number;
  /** The process that runs it (for `running` tasks). */
  readonly runner?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeStored(stored: StoredTask): Uint8Array {
  return encoder.encode(JSON.stringify(stored));
}

/** The entry at `revision`; a first version carries no order, so its revision is the order. */
export function decodeStored(
  bytes: Uint8Array,
  revision: number,
): Required<Omit<StoredTask, 'runner'>> & StoredTask {
  const stored = JSON.parse(decoder.decode(bytes)) as StoredTask;
  return { ...stored, order: stored.order ?? revision };
}
