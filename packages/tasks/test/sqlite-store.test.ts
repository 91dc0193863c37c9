import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultDataDir, defaultStorePath, SqliteStore } from '../src/sqlite-store.js';
import type { TaskRecord } from '../src/task.js';
import { storeConformance } from './store-conformance.js';

let root = '';
let count = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'andon-sqlite-store-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A path in a directory that does not exist yet, so every run also creates one.
function newPath(): string {
  return join(root, `store-${++count}`, 'data', 'tasks.db');
}

storeConformance(
  'SqliteStore (file)',
  async () => {
    const path = newPath();
    return { store: new SqliteStore({ path }), reopen: async () => new SqliteStore({ path }) };
  },
  { restarts: true },
);

storeConformance('SqliteStore (:memory:)', async () => ({
  store: new SqliteStore({ path: ':memory:' }),
}));

const record = (id: string): TaskRecord => ({
  id,
  app: 'demo',
  model: 'Count',
  status: 'queued',
  input: {},
  createdAt: Date.now(),
  lastSeq: 0,
});

describe('SqliteStore', () => {
  const stores: SqliteStore[] = [];
  const open = (path: string) => {
    const store = new SqliteStore({ path });
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  it('creates its directory 0700 and its file 0600, in WAL mode at the current schema', () => {
    const path = newPath();
    open(path);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const raw = new Database(path, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.pragma('user_version', { simple: true })).toBe(1);
    } finally {
      raw.close();
    }
  });

  it('opens an existing file without touching its data or mode', async () => {
    const path = newPath();
    await open(path).insert(record('t1'));
    const again = open(path);
    expect((await again.get('t1'))?.id).toBe('t1');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('names the path when it cannot be used', () => {
    const file = join(root, `plain-file-${++count}`);
    writeFileSync(file, 'not a directory');
    const underFile = join(file, 'sub', 'tasks.db');
    expect(() => new SqliteStore({ path: underFile })).toThrow(
      expect.objectContaining({
        code: 'ANDON_STORE_OPEN_FAILED',
        message: expect.stringContaining(underFile),
      }),
    );
    const directory = join(root, `a-directory-${++count}`);
    mkdirSync(directory);
    expect(() => new SqliteStore({ path: directory })).toThrow(directory);
    expect(() => new SqliteStore({ path: file })).toThrow(file);
  });

  it('refuses a file written by a newer schema, naming it', () => {
    const path = join(root, `newer-${++count}.db`);
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => new SqliteStore({ path })).toThrow(/newer-\d+\.db.*version 99/);
  });

  it('rejects every operation after close with an error naming the store', async () => {
    const path = newPath();
    const store = new SqliteStore({ path });
    await store.insert(record('t1'));
    await store.close();
    await store.close();
    const closed = { code: 'ANDON_STORE_CLOSED', message: `SqliteStore ${path} is closed` };
    const ending = { status: 'failed', error: 'x' } as const;
    const calls = [
      store.insert(record('t2')),
      store.get('t1'),
      store.list(),
      store.start('t1', 0),
      store.append('t1', 'progress', {}, 0),
      store.finish('t1', ending, 0, 0),
      store.events('t1', 0),
      store.failUnfinished('x', 0, () => 0),
      store.purgeExpired(0),
    ];
    for (const call of calls) await expect(call).rejects.toMatchObject(closed);
    expect(existsSync(path)).toBe(true);
  });

  it("shares one file between two stores: each sees the other's writes, and one finish wins", async () => {
    const path = newPath();
    const first = open(path);
    const second = open(path);
    await first.insert(record('t1'));
    expect((await second.get('t1'))?.status).toBe('queued');
    await second.start('t1', 1);
    await first.append('t1', 'progress', { from: 'first' }, 2);
    await second.append('t1', 'progress', { from: 'second' }, 3);
    expect((await first.events('t1', 0)).map((event) => event.data)).toEqual([
      { from: 'first' },
      { from: 'second' },
    ]);
    const results = await Promise.all([
      first.finish('t1', { status: 'failed', error: 'first' }, 4, 5),
      second.finish('t1', { status: 'failed', error: 'second' }, 4, 5),
    ]);
    expect(results.filter((event) => event !== undefined)).toHaveLength(1);
    expect(await first.get('t1')).toStrictEqual(await second.get('t1'));
    expect(await second.events('t1', 0)).toHaveLength(3);
  });

  it('keeps its data dir in $ANDON_DATA_DIR, else ~/.andon', () => {
    expect(defaultDataDir({ ANDON_DATA_DIR: '/srv/andon' })).toBe('/srv/andon');
    expect(defaultDataDir({})).toMatch(/\.andon$/);
    expect(defaultStorePath('/srv/andon')).toBe(join('/srv/andon', 'tasks.db'));
  });
});
