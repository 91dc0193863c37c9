import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Subscription } from '@andon/context';
import Database from 'better-sqlite3';
import { ChangeFeed } from './change-feed.js';
import { TaskError, TaskExistsError } from './errors.js';
import { EventFeed } from './event-feed.js';
import { eventOf, recordOf, type TaskRow, toJson } from './sqlite-rows.js';
import { migrate } from './sqlite-schema.js';
import { listQuery, prepareStatements, type Statements } from './sqlite-statements.js';
import type { TaskStore } from './store.js';
import {
  type TaskEnding,
  type TaskEvent,
  type TaskFilter,
  type TaskRecord,
  terminalEventOf,
} from './task.js';

export { defaultDataDir, defaultStorePath } from './data-dir.js';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * The database file; it and its directory (mode 0700) are created when missing. `:memory:`
   * keeps everything in this process, like MemoryStore.
   */
  readonly path: string;
  /** How long a write waits for another connection to release the file, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
}

const MEMORY = ':memory:';

/**
 * A {@link TaskStore} in one SQLite file: tasks, their events, final values and cancel
 * reasons survive restarts, and `TaskManager.open` ends what a crashed process left
 * running. Live delivery (`subscribe`) is for writes through this instance; another
 * process or instance on the same file sees the writes when it reads.
 *
 * Writes are synchronous (better-sqlite3) and each is one transaction; the promises
 * resolve after the commit.
 *
 * @example
 * import { SqliteStore, defaultStorePath } from '@andon/tasks/sqlite';
 * const store = new SqliteStore({ path: defaultStorePath() }); // ~/.andon/tasks.db
 * const tasks = await TaskManager.open({ store });
 */
export class SqliteStore implements TaskStore {
  /** The file this store keeps its tasks in, or `:memory:`. */
  readonly path: string;
  #db: Database.Database | undefined;
  readonly #sql: Statements;
  readonly #lists = new Map<string, Database.Statement<unknown[], TaskRow>>();
  readonly #feed = new EventFeed();
  readonly #changes = new ChangeFeed();

  /** @throws TaskError `ANDON_STORE_OPEN_FAILED`, naming the path, when it cannot be used. */
  constructor(options: SqliteStoreOptions) {
    const { path, busyTimeoutMs = 5000 } = options;
    this.path = path === MEMORY ? path : resolve(path);
    try {
      this.#db = openDatabase(this.path, busyTimeoutMs);
    } catch (error) {
      throw new TaskError(
        'ANDON_STORE_OPEN_FAILED',
        `SqliteStore: cannot use ${this.path} as a task store: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.#sql = prepareStatements(this.#db);
  }

  async insert(record: TaskRecord): Promise<void> {
    const { changes } = this.#open().sql.insert.run({
      id: record.id,
      app: record.app,
      model: record.model,
      status: record.status,
      input: toJson(record.input),
      owner: record.owner ?? null,
      created_at: record.createdAt,
      started_at: record.startedAt ?? null,
      finished_at: record.finishedAt ?? null,
      expires_at: record.expiresAt ?? null,
      final_value: 'finalValue' in record ? toJson(record.finalValue) : null,
      error: record.error ?? null,
      reason: record.reason === undefined ? null : toJson(record.reason),
      last_seq: record.lastSeq,
    });
    if (changes === 0) throw new TaskExistsError(record.id);
    this.#changes.publish(record);
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const row = this.#open().sql.get.get(id);
    return row === undefined ? undefined : recordOf(row);
  }

  async list(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    const { db } = this.#open();
    const { sql, params } = listQuery(filter);
    let statement = this.#lists.get(sql);
    if (statement === undefined) {
      statement = db.prepare<unknown[], TaskRow>(sql);
      this.#lists.set(sql, statement);
    }
    return statement.all(...params).map(recordOf);
  }

  async start(id: string, at: number): Promise<TaskRecord | undefined> {
    const row = this.#open().sql.start.get(at, id);
    if (row === undefined) return undefined;
    const record = recordOf(row);
    this.#changes.publish(record);
    return record;
  }

  async append(
    id: string,
    type: string,
    data: unknown,
    at: number,
  ): Promise<TaskEvent | undefined> {
    const { db, sql } = this.#open();
    const event = db
      .transaction((): TaskEvent | undefined => {
        const bumped = sql.nextSeq.get(id);
        if (bumped === undefined) return undefined;
        return this.#insertEvent(id, bumped.last_seq, type, data, at);
      })
      .immediate();
    if (event !== undefined) this.#feed.publish(id, event);
    return event;
  }

  async finish(
    id: string,
    ending: TaskEnding,
    at: number,
    expiresAt: number,
  ): Promise<TaskEvent | undefined> {
    const { db } = this.#open();
    const ended = db.transaction(() => this.#end(id, ending, at, expiresAt)).immediate();
    if (ended === undefined) return undefined;
    this.#feed.publish(id, ended.event);
    this.#changes.publish(ended.record);
    return ended.event;
  }

  async events(id: string, after: number, limit?: number): Promise<TaskEvent[]> {
    const rows = this.#open().sql.events.all(id, after, clampLimit(limit));
    return rows.map(eventOf);
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
    const { db, sql } = this.#open();
    const ending: TaskEnding = { status: 'failed', error: message };
    const ended = db
      .transaction(() =>
        sql.unfinished
          .all()
          .map((row) => this.#end(row.id, ending, at, expiresAt(recordOf(row))))
          .filter((end) => end !== undefined),
      )
      .immediate();
    // Published only after the commit, so no listener acts on a write that rolled back.
    for (const { record, event } of ended) {
      this.#feed.publish(record.id, event);
      this.#changes.publish(record);
    }
    return ended.map((end) => end.record);
  }

  async purgeExpired(now: number): Promise<number> {
    const { db, sql } = this.#open();
    return db
      .transaction(() => {
        sql.purgeEvents.run(now);
        return sql.purgeTasks.run(now).changes;
      })
      .immediate();
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    db?.close();
  }

  #open(): { db: Database.Database; sql: Statements } {
    if (this.#db === undefined) {
      throw new TaskError('ANDON_STORE_CLOSED', `SqliteStore ${this.path} is closed`);
    }
    return { db: this.#db, sql: this.#sql };
  }

  // Within a transaction: the compare-and-set and the terminal event, or nothing.
  #end(
    id: string,
    ending: TaskEnding,
    at: number,
    expiresAt: number,
  ): { record: TaskRecord; event: TaskEvent } | undefined {
    const row = this.#sql.finish.get({
      id,
      status: ending.status,
      at,
      expiresAt,
      finalValue: ending.status === 'completed' ? toJson(ending.finalValue) : null,
      error: ending.status === 'completed' ? null : ending.error,
      reason: 'reason' in ending ? toJson(ending.reason) : null,
    });
    if (row === undefined) return undefined;
    const { type, data } = terminalEventOf(ending);
    const event = this.#insertEvent(id, row.last_seq, type, data, at);
    return { record: recordOf(row), event };
  }

  #insertEvent(id: string, seq: number, type: string, data: unknown, at: number): TaskEvent {
    const text = toJson(data);
    this.#sql.insertEvent.run(id, seq, type, text, at);
    return eventOf({ seq, type, data: text, timestamp: at });
  }
}

function openDatabase(path: string, busyTimeoutMs: number): Database.Database {
  if (path !== MEMORY) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Created here rather than by SQLite so that it is private: the inputs and results of
    // tasks may be anyone's data, and SQLite gives its -wal and -shm files the same mode.
    closeSync(openSync(path, 'a', 0o600));
  }
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db, path);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

// better-sqlite3 binds no Infinity; SQLite reads a negative LIMIT as none.
function clampLimit(limit: number | undefined): number {
  return limit === undefined || limit === Number.POSITIVE_INFINITY ? -1 : Math.max(0, limit);
}
