import type Database from 'better-sqlite3';

/**
 * Each step takes the file from version `index` to `index + 1` (PRAGMA user_version). Add
 * steps; never edit one that has shipped, since files written by it exist.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tasks (
    id          TEXT PRIMARY KEY NOT NULL,
    app         TEXT NOT NULL,
    model       TEXT NOT NULL,
    status      TEXT NOT NULL
                CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'timed_out')),
    input       TEXT NOT NULL,        -- JSON
    owner       TEXT,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    expires_at  INTEGER,
    final_value TEXT,                 -- JSON; NULL when absent, 'null' for a null value
    error       TEXT,
    reason      TEXT,                 -- JSON CancelReason
    last_seq    INTEGER NOT NULL DEFAULT 0
  );
  -- Listings are newest first; the rowid breaks ties between tasks of one millisecond.
  CREATE INDEX tasks_by_created ON tasks (created_at);
  CREATE INDEX tasks_by_status ON tasks (status, created_at);
  CREATE INDEX tasks_by_kind ON tasks (app, model, created_at);
  CREATE INDEX tasks_by_owner ON tasks (owner, created_at);
  CREATE INDEX tasks_by_expiry ON tasks (expires_at);

  CREATE TABLE events (
    task_id   TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    type      TEXT NOT NULL,
    data      TEXT NOT NULL,          -- JSON
    timestamp INTEGER NOT NULL,
    PRIMARY KEY (task_id, seq)
  ) WITHOUT ROWID;
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the file at `path` up to {@link SCHEMA_VERSION}. Runs in one immediate
 * transaction, so two processes opening a new file at once do not both create tables.
 *
 * @throws Error when the file was written by a newer schema than this code knows.
 */
export function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `SqliteStore: ${path} has task store schema version ${version}, newer than this @andon/tasks knows (${SCHEMA_VERSION}); upgrade @andon/tasks or use another file`,
      );
    }
    for (let step = version; step < SCHEMA_VERSION; step++) db.exec(MIGRATIONS[step] ?? '');
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
