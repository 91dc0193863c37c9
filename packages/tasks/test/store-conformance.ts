import type { CancelReason } from '@andon/context';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskExistsError } from '../src/errors.js';
import type { TaskStore } from '../src/store.js';
import {
  type TaskEnding,
  type TaskEvent,
  type TaskRecord,
  type TaskStatus,
  terminalEventOf,
} from '../src/task.js';

/** What a conformance run opens for each test: a fresh store, and how to reopen its file. */
export interface OpenedStore {
  store: TaskStore;
  /** For stores that keep a file: a new store on the same file (after `store` is closed). */
  reopen?: () => Promise<TaskStore>;
}

const T0 = 1_700_000_000_000;
const KEEP = 60_000;

const reason: CancelReason = {
  kind: 'parent',
  message: 'parent stopped',
  origin: 'local',
  at: T0 + 5,
  cause: { kind: 'stop', message: 'user pressed stop', origin: 'browser', at: T0 + 4 },
};

/** One of each ending, so a test can run over all four. */
const ENDINGS: readonly TaskEnding[] = [
  { status: 'completed', finalValue: { counted: 3, items: ['a', null, true], nested: { x: 1.5 } } },
  { status: 'failed', error: 'it broke' },
  { status: 'cancelled', error: 'cancelled: user pressed stop', reason },
  {
    status: 'timed_out',
    error: 'timed out after 100 ms',
    reason: { kind: 'deadline', message: 'deadline', origin: 'local', at: T0 + 9 },
  },
];

function task(id: string, fields: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id,
    app: 'demo',
    model: 'Count',
    status: 'queued',
    input: { n: 3, label: 'ünïcödé ✓', list: [1, 'two', null, false], deep: { a: { b: [] } } },
    createdAt: T0,
    lastSeq: 0,
    ...fields,
  };
}

/** `value` after JSON and back: what any store that serializes must give back. */
function viaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * The {@link TaskStore} guarantees, as tests. Every store runs it: `open` gives a fresh,
 * empty store per test (the suite closes it), and `reopen`, when given, a second store on
 * the same file, for the restart tests (registered with `restarts: true`).
 *
 * @example
 * storeConformance('MemoryStore', async () => ({ store: new MemoryStore() }));
 */
export function storeConformance(
  name: string,
  open: () => Promise<OpenedStore>,
  options: { restarts?: boolean } = {},
): void {
  describe(`TaskStore conformance: ${name}`, () => {
    const opened: TaskStore[] = [];

    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    async function fresh(): Promise<OpenedStore & { store: TaskStore }> {
      const result = await open();
      opened.push(result.store);
      return result;
    }

    async function freshStore(): Promise<TaskStore> {
      return (await fresh()).store;
    }

    describe('insert and get', () => {
      it('gives back exactly what was inserted, optional fields absent', async () => {
        const store = await freshStore();
        const record = task('t1');
        await store.insert(record);
        const got = await store.get('t1');
        expect(got).toStrictEqual(record);
        expect(got).not.toHaveProperty('owner');
        expect(got).not.toHaveProperty('startedAt');
        expect(got).not.toHaveProperty('finalValue');
      });

      it('keeps the owner and JSON inputs of every kind', async () => {
        const store = await freshStore();
        const inputs = [null, 0, 'text', [1, [2]], { emoji: '😀', quote: '"\\' }];
        for (const [index, input] of inputs.entries()) {
          await store.insert(task(`t${index}`, { input, owner: `user-${index}` }));
        }
        for (const [index, input] of inputs.entries()) {
          expect(await store.get(`t${index}`)).toStrictEqual(
            task(`t${index}`, { input, owner: `user-${index}` }),
          );
        }
      });

      it('answers undefined for an unknown id', async () => {
        const store = await freshStore();
        expect(await store.get('nope')).toBeUndefined();
      });

      it('refuses a duplicate id with TaskExistsError and keeps the first', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        const duplicate = store.insert(task('t1', { app: 'other' }));
        await expect(duplicate).rejects.toBeInstanceOf(TaskExistsError);
        await expect(store.insert(task('t1'))).rejects.toMatchObject({
          code: 'ANDON_TASK_EXISTS',
          id: 't1',
        });
        expect((await store.get('t1'))?.app).toBe('demo');
        expect(await store.list()).toHaveLength(1);
      });
    });

    describe('list', () => {
      async function seeded(): Promise<TaskStore> {
        const store = await freshStore();
        await store.insert(task('a1', { app: 'a', model: 'X', createdAt: T0 + 1, owner: 'ann' }));
        await store.insert(task('a2', { app: 'a', model: 'Y', createdAt: T0 + 2 }));
        await store.insert(task('b1', { app: 'b', model: 'X', createdAt: T0 + 3, owner: 'bob' }));
        await store.insert(task('b2', { app: 'b', model: 'Y', createdAt: T0 + 4, owner: 'ann' }));
        await store.start('a2', T0 + 10);
        await store.start('b1', T0 + 10);
        await store.finish('b1', { status: 'failed', error: 'x' }, T0 + 11, T0 + KEEP);
        return store;
      }

      const ids = (records: TaskRecord[]) => records.map((record) => record.id);

      it('lists everything newest first', async () => {
        const store = await seeded();
        expect(ids(await store.list())).toEqual(['b2', 'b1', 'a2', 'a1']);
        expect(ids(await store.list({}))).toEqual(['b2', 'b1', 'a2', 'a1']);
      });

      it('filters by one status or several', async () => {
        const store = await seeded();
        expect(ids(await store.list({ status: 'queued' }))).toEqual(['b2', 'a1']);
        expect(ids(await store.list({ status: 'running' }))).toEqual(['a2']);
        expect(ids(await store.list({ status: ['failed', 'running'] }))).toEqual(['b1', 'a2']);
        expect(ids(await store.list({ status: ['completed'] }))).toEqual([]);
        expect(ids(await store.list({ status: [] }))).toEqual([]);
      });

      it('filters by app, model and owner, together too', async () => {
        const store = await seeded();
        expect(ids(await store.list({ app: 'a' }))).toEqual(['a2', 'a1']);
        expect(ids(await store.list({ model: 'X' }))).toEqual(['b1', 'a1']);
        expect(ids(await store.list({ owner: 'ann' }))).toEqual(['b2', 'a1']);
        expect(ids(await store.list({ owner: 'nobody' }))).toEqual([]);
        expect(ids(await store.list({ app: 'b', model: 'Y', owner: 'ann' }))).toEqual(['b2']);
        expect(ids(await store.list({ app: 'b', status: 'queued' }))).toEqual(['b2']);
      });

      it('returns at most limit, the newest', async () => {
        const store = await seeded();
        expect(ids(await store.list({ limit: 2 }))).toEqual(['b2', 'b1']);
        expect(ids(await store.list({ limit: 1, app: 'a' }))).toEqual(['a2']);
        expect(ids(await store.list({ limit: 0 }))).toEqual([]);
        expect(ids(await store.list({ limit: 99 }))).toHaveLength(4);
      });

      it('puts the last inserted first among tasks created in one millisecond', async () => {
        const store = await freshStore();
        for (const id of ['first', 'second', 'third']) await store.insert(task(id));
        expect(ids(await store.list())).toEqual(['third', 'second', 'first']);
      });

      it('lists records equal to what get gives', async () => {
        const store = await seeded();
        for (const record of await store.list()) {
          expect(await store.get(record.id)).toStrictEqual(record);
        }
      });
    });

    describe('start', () => {
      it('moves a queued task to running, once', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        const started = await store.start('t1', T0 + 7);
        expect(started).toStrictEqual({ ...task('t1'), status: 'running', startedAt: T0 + 7 });
        expect(await store.get('t1')).toStrictEqual(started);
        expect(await store.start('t1', T0 + 8)).toBeUndefined();
        expect((await store.get('t1'))?.startedAt).toBe(T0 + 7);
      });

      it('answers undefined for an unknown or finished task', async () => {
        const store = await freshStore();
        expect(await store.start('nope', T0)).toBeUndefined();
        await store.insert(task('t1'));
        await store.finish('t1', { status: 'failed', error: 'x' }, T0 + 1, T0 + KEEP);
        expect(await store.start('t1', T0 + 2)).toBeUndefined();
        expect((await store.get('t1'))?.status).toBe('failed');
        expect(await store.get('t1')).not.toHaveProperty('startedAt');
      });
    });

    describe('append', () => {
      it('numbers events 1, 2, 3… per task and keeps lastSeq', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        await store.insert(task('t2'));
        const first = await store.append('t1', 'progress', { step: 1 }, T0 + 1);
        expect(first).toStrictEqual({
          seq: 1,
          type: 'progress',
          data: { step: 1 },
          timestamp: T0 + 1,
        });
        expect((await store.append('t2', 'progress', 'other', T0 + 1))?.seq).toBe(1);
        await store.start('t1', T0 + 2);
        expect((await store.append('t1', 'log', ['a', 'b'], T0 + 3))?.seq).toBe(2);
        expect((await store.append('t1', 'progress', null, T0 + 4))?.seq).toBe(3);
        expect((await store.get('t1'))?.lastSeq).toBe(3);
        expect((await store.get('t2'))?.lastSeq).toBe(1);
        expect(await store.events('t1', 0)).toStrictEqual([
          first,
          { seq: 2, type: 'log', data: ['a', 'b'], timestamp: T0 + 3 },
          { seq: 3, type: 'progress', data: null, timestamp: T0 + 4 },
        ]);
      });

      it('keeps call order when the appends are not awaited', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        const writes = Array.from({ length: 25 }, (_, index) =>
          store.append('t1', `e${index}`, { index }, T0 + index),
        );
        const events = await Promise.all(writes);
        expect(events.map((event) => event?.seq)).toEqual(
          Array.from({ length: 25 }, (_, index) => index + 1),
        );
        const stored = await store.events('t1', 0);
        expect(stored.map((event) => event.type)).toEqual(events.map((event) => event?.type));
      });

      it('stores undefined data as null', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        const event = await store.append('t1', 'tick', undefined, T0);
        expect(event).toStrictEqual({ seq: 1, type: 'tick', data: null, timestamp: T0 });
        expect(await store.events('t1', 0)).toStrictEqual([event]);
      });

      it('answers undefined for an unknown or finished task and writes nothing', async () => {
        const store = await freshStore();
        expect(await store.append('nope', 'progress', {}, T0)).toBeUndefined();
        expect(await store.events('nope', 0)).toEqual([]);
        await store.insert(task('t1'));
        await store.append('t1', 'progress', {}, T0);
        await store.finish('t1', { status: 'completed', finalValue: 1 }, T0 + 1, T0 + KEEP);
        expect(await store.append('t1', 'progress', {}, T0 + 2)).toBeUndefined();
        expect((await store.get('t1'))?.lastSeq).toBe(2);
        expect((await store.events('t1', 0)).map((event) => event.seq)).toEqual([1, 2]);
      });
    });

    describe('events', () => {
      it('pages with after and limit, oldest first', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        for (let step = 1; step <= 5; step++) await store.append('t1', 'p', { step }, T0 + step);
        const seqs = async (after: number, limit?: number) =>
          (await store.events('t1', after, limit)).map((event) => event.seq);
        expect(await seqs(0)).toEqual([1, 2, 3, 4, 5]);
        expect(await seqs(2)).toEqual([3, 4, 5]);
        expect(await seqs(0, 2)).toEqual([1, 2]);
        expect(await seqs(2, 2)).toEqual([3, 4]);
        expect(await seqs(4, 10)).toEqual([5]);
        expect(await seqs(5)).toEqual([]);
        expect(await seqs(9)).toEqual([]);
        expect(await seqs(0, 0)).toEqual([]);
      });
    });

    describe('finish', () => {
      for (const ending of ENDINGS) {
        it(`ends a task as ${ending.status}: record and terminal event together`, async () => {
          const store = await freshStore();
          await store.insert(task('t1'));
          await store.start('t1', T0 + 1);
          await store.append('t1', 'progress', { step: 1 }, T0 + 2);
          const event = await store.finish('t1', ending, T0 + 3, T0 + KEEP);
          expect(event).toStrictEqual({ seq: 2, ...terminalEventOf(ending), timestamp: T0 + 3 });
          const events = await store.events('t1', 0);
          expect(events.at(-1)).toStrictEqual(event);
          expect(events).toHaveLength(2);
          expect(await store.get('t1')).toStrictEqual(endedRecord(ending));
        });
      }

      function endedRecord(ending: TaskEnding): TaskRecord {
        return {
          ...task('t1'),
          status: ending.status,
          startedAt: T0 + 1,
          finishedAt: T0 + 3,
          expiresAt: T0 + KEEP,
          lastSeq: 2,
          ...(ending.status === 'completed'
            ? { finalValue: ending.finalValue }
            : { error: ending.error }),
          ...('reason' in ending ? { reason: ending.reason } : {}),
        };
      }

      it('gives the terminal event the documented shape per ending', () => {
        const [completed, failed, cancelled, timedOut] = ENDINGS.map(terminalEventOf);
        expect(completed).toEqual({
          type: 'complete',
          data: { final_value: (ENDINGS[0] as { finalValue: unknown }).finalValue },
        });
        expect(failed).toEqual({ type: 'error', data: { message: 'it broke' } });
        expect(cancelled).toEqual({
          type: 'cancelled',
          data: { message: 'cancelled: user pressed stop', reason },
        });
        expect(timedOut).toEqual({ type: 'timeout', data: { message: 'timed out after 100 ms' } });
      });

      it('keeps an undefined final value as null, in the record and the event', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        const event = await store.finish(
          't1',
          { status: 'completed', finalValue: undefined },
          T0 + 1,
          T0 + KEEP,
        );
        expect(event?.data).toStrictEqual({ final_value: null });
        const record = await store.get('t1');
        expect(record).toHaveProperty('finalValue', null);
        expect(record).toStrictEqual(viaJson(record));
      });

      it('keeps a null, false or zero final value as it is', async () => {
        const store = await freshStore();
        for (const [index, value] of [null, false, 0, ''].entries()) {
          await store.insert(task(`t${index}`));
          await store.finish(`t${index}`, { status: 'completed', finalValue: value }, T0, T0);
          expect((await store.get(`t${index}`))?.finalValue).toBe(value);
        }
      });

      it('ends a queued task that never started', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        const event = await store.finish('t1', ENDINGS[2]!, T0 + 1, T0 + KEEP);
        expect(event?.seq).toBe(1);
        const record = await store.get('t1');
        expect(record?.status).toBe('cancelled');
        expect(record).not.toHaveProperty('startedAt');
      });

      it('answers undefined for an unknown task', async () => {
        const store = await freshStore();
        expect(await store.finish('nope', ENDINGS[1]!, T0, T0)).toBeUndefined();
        expect(await store.list()).toEqual([]);
      });

      it('lets exactly one of many racing finishes win, and nothing change after', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        await store.start('t1', T0 + 1);
        await store.append('t1', 'progress', {}, T0 + 2);
        const racers = Array.from({ length: 24 }, (_, index) => ENDINGS[index % ENDINGS.length]!);
        const results = await Promise.all(
          racers.map((ending, index) => store.finish('t1', ending, T0 + 10 + index, T0 + KEEP)),
        );
        const winners = results.flatMap((event, index) =>
          event === undefined ? [] : [{ event, ending: racers[index]! }],
        );
        expect(winners).toHaveLength(1);
        const [{ event, ending }] = winners as [{ event: TaskEvent; ending: TaskEnding }];
        const record = await store.get('t1');
        expect(record?.status).toBe(ending.status);
        expect(record?.lastSeq).toBe(event.seq);
        expect(record?.finishedAt).toBe(event.timestamp);
        expect(event).toMatchObject(terminalEventOf(ending));
        const events = await store.events('t1', 0);
        expect(events.map((stored) => stored.seq)).toEqual([1, 2]);
        expect(events.at(-1)).toStrictEqual(event);

        expect(await store.append('t1', 'progress', {}, T0 + 50)).toBeUndefined();
        expect(await store.start('t1', T0 + 50)).toBeUndefined();
        expect(await store.finish('t1', ENDINGS[0]!, T0 + 50, T0)).toBeUndefined();
        expect(await store.get('t1')).toStrictEqual(record);
        expect(await store.events('t1', 0)).toStrictEqual(events);
      });

      it('keeps racing appends and a finish in order: the terminal event is last', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        const writes = [
          store.append('t1', 'a', 1, T0),
          store.append('t1', 'b', 2, T0),
          store.finish('t1', ENDINGS[1]!, T0, T0 + KEEP),
          store.append('t1', 'c', 3, T0),
        ];
        const [a, b, end, c] = await Promise.all(writes);
        expect([a?.seq, b?.seq, end?.seq, c]).toEqual([1, 2, 3, undefined]);
        expect((await store.events('t1', 0)).map((event) => event.type)).toEqual([
          'a',
          'b',
          'error',
        ]);
      });
    });

    describe('subscribe', () => {
      it('delivers the events written after subscribing, in order, the terminal one last', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        await store.insert(task('t2'));
        await store.append('t1', 'before', {}, T0);
        const seen: TaskEvent[] = [];
        const subscription = store.subscribe('t1', (event) => seen.push(event));
        await store.append('t2', 'elsewhere', {}, T0);
        const writes = [1, 2, 3].map((step) => store.append('t1', 'progress', { step }, T0));
        writes.push(store.finish('t1', ENDINGS[0]!, T0 + 1, T0 + KEEP));
        await Promise.all(writes);
        expect(seen.map((event) => event.seq)).toEqual([2, 3, 4, 5]);
        expect(seen).toStrictEqual(await store.events('t1', 1));
        expect(seen.at(-1)).toMatchObject(terminalEventOf(ENDINGS[0]!));
        subscription.dispose();
      });

      it('delivers an event only once it can be read back', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        const reads: Promise<boolean>[] = [];
        const subscription = store.subscribe('t1', (event) => {
          reads.push(
            store.events('t1', event.seq - 1).then((events) => events[0]?.seq === event.seq),
          );
        });
        await store.append('t1', 'progress', {}, T0);
        await store.finish('t1', ENDINGS[1]!, T0, T0 + KEEP);
        expect(await Promise.all(reads)).toEqual([true, true]);
        subscription.dispose();
      });

      it('stops delivering after dispose, for that listener only', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        const first: number[] = [];
        const second: number[] = [];
        const one = store.subscribe('t1', (event) => first.push(event.seq));
        const two = store.subscribe('t1', (event) => second.push(event.seq));
        await store.append('t1', 'progress', {}, T0);
        one.dispose();
        one.dispose();
        await store.append('t1', 'progress', {}, T0);
        two[Symbol.dispose]();
        await store.finish('t1', ENDINGS[1]!, T0, T0 + KEEP);
        expect(first).toEqual([1]);
        expect(second).toEqual([1, 2]);
      });
    });

    describe('watchTasks', () => {
      it('reports every status change, in order, with the record as it is then', async () => {
        const store = await freshStore();
        await store.insert(task('before'));
        const seen: TaskRecord[] = [];
        const subscription = store.watchTasks((record) => seen.push(record));
        await store.insert(task('t1'));
        await store.insert(task('t2'));
        await store.start('t1', T0 + 1);
        await store.append('t1', 'progress', {}, T0 + 2); // not a status change
        await store.finish('t1', ENDINGS[0]!, T0 + 3, T0 + KEEP);
        await store.finish('t2', ENDINGS[2]!, T0 + 4, T0 + KEEP);
        await store.start('t2', T0 + 5); // refused: no change
        await store.finish('t1', ENDINGS[1]!, T0 + 6, T0 + KEEP); // refused: no change
        expect(seen.map((record) => [record.id, record.status])).toEqual([
          ['t1', 'queued'],
          ['t2', 'queued'],
          ['t1', 'running'],
          ['t1', 'completed'],
          ['t2', 'cancelled'],
        ]);
        expect(seen[3]).toStrictEqual(await store.get('t1'));
        expect(seen[4]).toStrictEqual(await store.get('t2'));
        subscription.dispose();
        await store.insert(task('after'));
        expect(seen).toHaveLength(5);
      });

      it('reports the tasks failUnfinished ends', async () => {
        const store = await freshStore();
        await store.insert(task('orphan'));
        const seen: string[] = [];
        const subscription = store.watchTasks((record) =>
          seen.push(`${record.id}:${record.status}`),
        );
        await store.failUnfinished('gone', T0, () => T0 + KEEP);
        expect(seen).toEqual(['orphan:failed']);
        subscription.dispose();
      });
    });

    describe('failUnfinished', () => {
      it('fails queued and running tasks with the message and leaves finished ones', async () => {
        const store = await freshStore();
        await store.insert(task('queued', { createdAt: T0 + 1 }));
        await store.insert(task('running', { createdAt: T0 + 2, owner: 'ann' }));
        await store.insert(task('done', { createdAt: T0 + 3 }));
        await store.start('running', T0 + 4);
        await store.append('running', 'progress', { step: 1 }, T0 + 5);
        await store.finish('done', ENDINGS[0]!, T0 + 6, T0 + KEEP);
        const done = await store.get('done');
        const doneEvents = await store.events('done', 0);

        const asked: TaskRecord[] = [];
        const ended = await store.failUnfinished('the process stopped', T0 + 100, (record) => {
          asked.push(record);
          return T0 + 100 + (record.id === 'queued' ? 1 : 2);
        });

        expect(asked.map((record) => [record.id, record.status]).sort()).toEqual([
          ['queued', 'queued'],
          ['running', 'running'],
        ]);
        const byId = [...ended].sort((a, b) => a.id.localeCompare(b.id));
        expect(byId).toStrictEqual([await store.get('queued'), await store.get('running')]);
        expect(byId[0]).toStrictEqual({
          ...task('queued', { createdAt: T0 + 1 }),
          status: 'failed',
          error: 'the process stopped',
          finishedAt: T0 + 100,
          expiresAt: T0 + 101,
          lastSeq: 1,
        });
        expect(byId[1]).toMatchObject({
          status: 'failed',
          error: 'the process stopped',
          owner: 'ann',
          startedAt: T0 + 4,
          expiresAt: T0 + 102,
          lastSeq: 2,
        });
        const terminal = terminalEventOf({ status: 'failed', error: 'the process stopped' });
        expect(await store.events('running', 0)).toStrictEqual([
          { seq: 1, type: 'progress', data: { step: 1 }, timestamp: T0 + 5 },
          { seq: 2, ...terminal, timestamp: T0 + 100 },
        ]);
        expect(await store.get('done')).toStrictEqual(done);
        expect(await store.events('done', 0)).toStrictEqual(doneEvents);
        expect(await store.failUnfinished('again', T0 + 200, () => T0)).toEqual([]);
      });

      it('announces each ending to subscribers', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        const seen: TaskEvent[] = [];
        const subscription = store.subscribe('t1', (event) => seen.push(event));
        await store.failUnfinished('gone', T0, () => T0);
        expect(seen).toStrictEqual([
          { seq: 1, type: 'error', data: { message: 'gone' }, timestamp: T0 },
        ]);
        subscription.dispose();
      });
    });

    describe('purgeExpired', () => {
      it('removes finished tasks expired at or before now, with their events, and only them', async () => {
        const store = await freshStore();
        await store.insert(task('old'));
        await store.append('old', 'progress', {}, T0);
        await store.finish('old', ENDINGS[0]!, T0 + 1, T0 + 10);
        await store.insert(task('edge'));
        await store.finish('edge', ENDINGS[1]!, T0 + 1, T0 + 20);
        await store.insert(task('fresh'));
        await store.finish('fresh', ENDINGS[2]!, T0 + 1, T0 + 21);
        // Unfinished tasks stay whatever they say about expiry.
        await store.insert(task('queued', { expiresAt: T0 }));
        await store.insert(task('running', { expiresAt: T0 }));
        await store.start('running', T0);
        await store.append('running', 'progress', {}, T0);

        expect(await store.purgeExpired(T0 + 20)).toBe(2);
        expect(await store.get('old')).toBeUndefined();
        expect(await store.get('edge')).toBeUndefined();
        expect(await store.events('old', 0)).toEqual([]);
        expect((await store.list()).map((record) => record.id).sort()).toEqual([
          'fresh',
          'queued',
          'running',
        ]);
        expect(await store.events('running', 0)).toHaveLength(1);
        expect(await store.purgeExpired(T0 + 20)).toBe(0);
        expect(await store.purgeExpired(T0 + 21)).toBe(1);
      });

      it('lets a purged id be used again, its events starting from 1', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        await store.append('t1', 'progress', {}, T0);
        await store.finish('t1', ENDINGS[1]!, T0, T0);
        await store.purgeExpired(T0);
        await store.insert(task('t1'));
        expect((await store.append('t1', 'progress', {}, T0))?.seq).toBe(1);
        expect(await store.events('t1', 0)).toHaveLength(1);
      });
    });

    describe('records are plain JSON', () => {
      it('gives records and events equal to their own JSON round trip, in every state', async () => {
        const store = await freshStore();
        const statuses: TaskStatus[] = [];
        await store.insert(task('queued'));
        await store.insert(task('running', { owner: 'ann' }));
        await store.start('running', T0 + 1);
        await store.append('running', 'progress', { step: 1, note: null }, T0 + 2);
        for (const ending of ENDINGS) {
          await store.insert(task(ending.status));
          await store.start(ending.status, T0 + 1);
          await store.finish(ending.status, ending, T0 + 2, T0 + KEEP);
        }
        await store.insert(task('undefined-value'));
        await store.finish(
          'undefined-value',
          { status: 'completed', finalValue: undefined },
          T0,
          T0,
        );

        const records = await store.list();
        expect(records).toHaveLength(7);
        for (const record of records) {
          statuses.push(record.status);
          expect(record).toStrictEqual(viaJson(record));
          const got = await store.get(record.id);
          expect(got).toStrictEqual(viaJson(got));
          const events = await store.events(record.id, 0);
          expect(events).toStrictEqual(viaJson(events));
        }
        expect(new Set(statuses)).toEqual(
          new Set(['queued', 'running', 'completed', 'failed', 'cancelled', 'timed_out']),
        );
        const started = await store.start('queued', T0 + 3);
        expect(started).toStrictEqual(viaJson(started));
        const ended = await store.failUnfinished('gone', T0 + 4, () => T0 + 5);
        expect(ended).toStrictEqual(viaJson(ended));
      });

      it('keeps a reason a structured object, nested cause included', async () => {
        const store = await freshStore();
        await store.insert(task('t1'));
        await store.finish('t1', ENDINGS[2]!, T0, T0 + KEEP);
        const record = await store.get('t1');
        expect(record?.reason).toStrictEqual(reason);
        expect(typeof record?.reason).toBe('object');
      });
    });

    it('closes idempotently', async () => {
      const store = await freshStore();
      await store.close();
      await store.close();
    });

    // Only stores that keep a file have restarts to test; the others do not register them.
    if (options.restarts === true) {
      describe('restart', () => {
        it('keeps records, events, final values and reasons across close and reopen', async () => {
          const { store, reopen } = await fresh();
          if (reopen === undefined) throw new Error(`${name}: restarts: true needs reopen`);
          for (const ending of ENDINGS) {
            await store.insert(task(ending.status, { owner: 'ann' }));
            await store.start(ending.status, T0 + 1);
            await store.append(ending.status, 'progress', { step: 1, of: ending.status }, T0 + 2);
            await store.finish(ending.status, ending, T0 + 3, T0 + KEEP);
          }
          await store.insert(task('orphan-queued', { createdAt: T0 + 10 }));
          await store.insert(task('orphan-running', { createdAt: T0 + 11 }));
          await store.start('orphan-running', T0 + 12);
          await store.append('orphan-running', 'progress', { step: 1 }, T0 + 13);

          const records = await store.list();
          const events = await Promise.all(records.map((record) => store.events(record.id, 0)));
          await store.close();

          const again = await reopen();
          opened.push(again);
          expect(await again.list()).toStrictEqual(records);
          for (const [index, record] of records.entries()) {
            expect(await again.get(record.id)).toStrictEqual(record);
            expect(await again.events(record.id, 0)).toStrictEqual(events[index]);
          }
          expect((await again.get('completed'))?.finalValue).toStrictEqual(
            (ENDINGS[0] as { finalValue: unknown }).finalValue,
          );
          expect((await again.get('cancelled'))?.reason).toStrictEqual(reason);
          await expect(again.insert(task('completed'))).rejects.toBeInstanceOf(TaskExistsError);

          const ended = await again.failUnfinished('andon restarted', T0 + 100, () => T0 + 200);
          expect(ended.map((record) => record.id).sort()).toEqual([
            'orphan-queued',
            'orphan-running',
          ]);
          expect(await again.get('orphan-running')).toMatchObject({
            status: 'failed',
            error: 'andon restarted',
            lastSeq: 2,
          });
          expect((await again.events('orphan-running', 1))[0]).toStrictEqual({
            seq: 2,
            type: 'error',
            data: { message: 'andon restarted' },
            timestamp: T0 + 100,
          });
          expect(await again.get('completed')).toStrictEqual(
            records.find((r) => r.id === 'completed'),
          );
        });

        it('continues seq after a reopen and keeps a purge', async () => {
          const { store, reopen } = await fresh();
          if (reopen === undefined) throw new Error(`${name}: restarts: true needs reopen`);
          await store.insert(task('t1'));
          await store.append('t1', 'progress', {}, T0);
          await store.append('t1', 'progress', {}, T0);
          await store.insert(task('gone'));
          await store.finish('gone', ENDINGS[1]!, T0, T0);
          await store.purgeExpired(T0);
          await store.close();

          const again = await reopen();
          opened.push(again);
          expect((await again.append('t1', 'progress', {}, T0))?.seq).toBe(3);
          expect(await again.get('gone')).toBeUndefined();
          expect(await again.events('gone', 0)).toEqual([]);
        });
      });
    }
  });
}
