import type Database from 'better-sqlite3';
import type { EventRow, TaskRow } from './sqlite-rows.js';
import type { TaskFilter } from './task.js';

const UNFINISHED = `status IN ('queued', 'running')`;
const FINISHED = `status NOT IN ('queued', 'running')`;

/** Named parameters of {@link prepareStatements}' `finish`. */
export interface FinishParams {
  id: string;
  status: string;
  at: number;
  expiresAt: number;
  finalValue: string | null;
  error: string | null;
  reason: string | null;
}

type Statement<Params extends unknown[], Row = unknown> = Database.Statement<Params, Row>;

/** Every fixed statement the store runs, prepared once per connection. */
export interface Statements {
  insert: Statement<[TaskRow]>;
  get: Statement<[string], TaskRow>;
  start: Statement<[number, string], TaskRow>;
  nextSeq: Statement<[string], { last_seq: number }>;
  finish: Statement<[FinishParams], TaskRow>;
  insertEvent: Statement<[string, number, string, string, number]>;
  events: Statement<[string, number, number], EventRow>;
  unfinished: Statement<[], TaskRow>;
  purgeEvents: Statement<[number]>;
  purgeTasks: Statement<[number]>;
}

/** Prepares the {@link Statements}, once per connection. */
export function prepareStatements(db: Database.Database): Statements {
  return {
    // DO NOTHING, so a duplicate id shows as `changes === 0` rather than an error to decode.
    insert: db.prepare<TaskRow>(`
      INSERT INTO tasks (id, app, model, status, input, owner, created_at, started_at,
                         finished_at, expires_at, final_value, error, reason, last_seq)
      VALUES (@id, @app, @model, @status, @input, @owner, @created_at, @started_at,
              @finished_at, @expires_at, @final_value, @error, @reason, @last_seq)
      ON CONFLICT (id) DO NOTHING`),
    get: db.prepare<[string], TaskRow>('SELECT * FROM tasks WHERE id = ?'),
    start: db.prepare<[number, string], TaskRow>(`
      UPDATE tasks SET status = 'running', started_at = ?
      WHERE id = ? AND status = 'queued' RETURNING *`),
    // The compare-and-set of `append`: only an unfinished task gets a next seq.
    nextSeq: db.prepare<[string], { last_seq: number }>(`
      UPDATE tasks SET last_seq = last_seq + 1
      WHERE id = ? AND ${UNFINISHED} RETURNING last_seq`),
    // The compare-and-set of `finish`: of racing calls, only the first still matches.
    finish: db.prepare<FinishParams, TaskRow>(`
      UPDATE tasks SET status = @status, finished_at = @at, expires_at = @expiresAt,
                       final_value = @finalValue, error = @error, reason = @reason,
                       last_seq = last_seq + 1
      WHERE id = @id AND ${UNFINISHED} RETURNING *`),
    insertEvent: db.prepare<[string, number, string, string, number]>(
      'INSERT INTO events (task_id, seq, type, data, timestamp) VALUES (?, ?, ?, ?, ?)',
    ),
    events: db.prepare<[string, number, number], EventRow>(`
      SELECT seq, type, data, timestamp FROM events
      WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
    unfinished: db.prepare<[], TaskRow>(
      `SELECT * FROM tasks WHERE ${UNFINISHED} ORDER BY created_at, rowid`,
    ),
    purgeEvents: db.prepare<[number]>(`
      DELETE FROM events WHERE task_id IN
        (SELECT id FROM tasks WHERE expires_at <= ? AND ${FINISHED})`),
    purgeTasks: db.prepare<[number]>(`DELETE FROM tasks WHERE expires_at <= ? AND ${FINISHED}`),
  };
}

/**
 * The SELECT for `filter` and its parameters. Only the fields present become conditions,
 * so each shape can use its index; a status list travels as one JSON parameter, so the
 * number of shapes (and of cached statements) stays at 16.
 */
export function listQuery(filter: TaskFilter): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const { status, app, model, owner, limit } = filter;
  if (status !== undefined) {
    where.push('status IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(typeof status === 'string' ? [status] : status));
  }
  for (const [column, value] of [
    ['app', app],
    ['model', model],
    ['owner', owner],
  ] as const) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    params.push(value);
  }
  params.push(limit === undefined ? -1 : Math.max(0, limit));
  const conditions = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
  // rowid DESC: of tasks created in one millisecond, the last inserted is the newest.
  const sql = `SELECT * FROM tasks ${conditions} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
  return { sql, params };
}
