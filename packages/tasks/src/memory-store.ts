import type { Subscription } from '@andon/context';
import { ChangeFeed } from './change-feed.js';
import { endedRecord } from './ended-record.js';
import { TaskExistsError } from './errors.js';
import { EventFeed } from './event-feed.js';
import type { TaskStore } from './store.js';
import { matchesFilter, newestFirst } from './store-filter.js';
import {
  isTerminal,
  type TaskEnding,
  type TaskEvent,
  type TaskFilter,
  type TaskRecord,
  terminalEventOf,
} from './task.js';

interface Entry {
  record: TaskRecord;
  events: TaskEvent[];
}

/**
 * A {@link TaskStore} in this process's memory: for tests and for apps whose tasks need not
 * survive a restart. Every operation completes before its promise is returned.
 *
 * @example
 * const tasks = new TaskManager({ store: new MemoryStore() });
 */
export class MemoryStore implements TaskStore {
  readonly #tasks = new Map<string, Entry>();
  readonly #feed = new EventFeed();
  readonly #changes = new ChangeFeed();

  async insert(record: TaskRecord): Promise<void> {
    if (this.#tasks.has(record.id)) throw new TaskExistsError(record.id);
    const entry = { record: { ...record }, events: [] };
    this.#tasks.set(record.id, entry);
    this.#changes.publish(entry.record);
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    return this.#tasks.get(id)?.record;
  }

  async list(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    // Reversed before the (stable) sort: of tasks created in one millisecond, the last
    // inserted is the newest.
    const found = [...this.#tasks.values()]
      .reverse()
      .map((entry) => entry.record)
      .filter((record) => matchesFilter(record, filter))
      .sort(newestFirst);
    return filter.limit === undefined ? found : found.slice(0, filter.limit);
  }

  async start(id: string, at: number): Promise<TaskRecord | undefined> {
    const entry = this.#tasks.get(id);
    if (entry === undefined || entry.record.status !== 'queued') return undefined;
    entry.record = { ...entry.record, status: 'running', startedAt: at };
    this.#changes.publish(entry.record);
    return entry.record;
  }

  async append(
    id: string,
    type: string,
    data: unknown,
    at: number,
  ): Promise<TaskEvent | undefined> {
    const entry = this.#tasks.get(id);
    if (entry === undefined || isTerminal(entry.record.status)) return undefined;
    return this.#push(entry, type, data ?? null, at);
  }

  async finish(
    id: string,
    ending: TaskEnding,
    at: number,
    expiresAt: number,
  ): Promise<TaskEvent | undefined> {
    const entry = this.#tasks.get(id);
    if (entry === undefined || isTerminal(entry.record.status)) return undefined;
    entry.record = endedRecord(entry.record, ending, at, expiresAt);
    const { type, data } = terminalEventOf(ending);
    const event = this.#push(entry, type, data, at);
    this.#changes.publish(entry.record);
    return event;
  }

  async events(id: string, after: number, limit = Number.POSITIVE_INFINITY): Promise<TaskEvent[]> {
    const events = this.#tasks.get(id)?.events ?? [];
    // seq n sits at index n - 1.
    return events.slice(Math.max(0, after), Math.max(0, after) + limit);
  }

  subscribe(id: string, listener: (event: TaskEvent) => void): Subscription {
    return this.#feed.subscribe(id, listener);
  }

  watchTasks(listener: (task: TaskRecord) => void): Subscription {
    return this.#changes.watch(listener);
  }

  async failUnfinished(
    message: string,
    at: number,
    expiresAt: (task: TaskRecord) => number,
  ): Promise<TaskRecord[]> {
    const ended: TaskRecord[] = [];
    for (const entry of this.#tasks.values()) {
      if (isTerminal(entry.record.status)) continue;
      const ending: TaskEnding = { status: 'failed', error: message };
      const expiry = expiresAt(entry.record);
      entry.record = endedRecord(entry.record, ending, at, expiry);
      const { type, data } = terminalEventOf(ending);
      this.#push(entry, type, data, at);
      this.#changes.publish(entry.record);
      ended.push(entry.record);
    }
    return ended;
  }

  async purgeExpired(now: number): Promise<number> {
    let removed = 0;
    for (const [id, entry] of this.#tasks) {
      const { expiresAt } = entry.record;
      if (isTerminal(entry.record.status) && expiresAt !== undefined && expiresAt <= now) {
        this.#tasks.delete(id);
        removed++;
      }
    }
    return removed;
  }

  async close(): Promise<void> {}

  #push(entry: Entry, type: string, data: unknown, at: number): TaskEvent {
    const event: TaskEvent = Object.freeze({
      seq: entry.record.lastSeq + 1,
      type,
      data,
      timestamp: at,
    });
    entry.events.push(event);
    entry.record = { ...entry.record, lastSeq: event.seq };
    this.#feed.publish(entry.record.id, event);
    return event;
  }
}
