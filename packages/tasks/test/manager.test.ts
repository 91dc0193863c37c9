import { type Context, sleep, TestClock } from '@andon/context';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred, waitFor } from '../../../test/support/wait.js';
import {
  MemoryStore,
  QueueFullError,
  ShuttingDownError,
  type TaskEvent,
  TaskInputError,
  TaskManager,
  type TaskManagerOptions,
  TaskNotFoundError,
  type TaskRecord,
  UnknownKindError,
  WatcherLaggedError,
} from '../src/index.js';

const managers: TaskManager[] = [];

async function open(options: TaskManagerOptions = {}): Promise<TaskManager> {
  const manager = await TaskManager.open(options);
  managers.push(manager);
  return manager;
}

afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.shutdown({ graceMs: 100 })));
});

async function collect(watch: AsyncIterable<TaskEvent>): Promise<TaskEvent[]> {
  const events: TaskEvent[] = [];
  for await (const event of watch) events.push(event);
  return events;
}

// A kind whose handler waits until the test lets it go (or its Context stops).
function gatedKind(tasks: TaskManager, options: { concurrency?: number } = {}) {
  const started: string[] = [];
  const release = deferred<void>();
  const finished: string[] = [];
  tasks.define(
    'test',
    'Gate',
    async function* (_input: unknown, ctx: Context, task) {
      started.push(task.id);
      try {
        yield { phase: 'started' };
        await Promise.race([release.promise, ctx.stopped()]);
        if (ctx.isStopped()) return 'stopped';
        yield { phase: 'released' };
        return 'done';
      } finally {
        finished.push(task.id);
      }
    },
    { concurrency: options.concurrency ?? 4, killAfterMs: 1_000 },
  );
  return { started, release, finished };
}

describe('TaskManager: running tasks', () => {
  it('runs a generator kind: each yield is a progress event, the return value completes it', async () => {
    const tasks = await open();
    tasks.define('demo', 'Count', async function* (input: { n: number }) {
      for (let i = 1; i <= input.n; i++) yield { step: i };
      return { counted: input.n };
    });
    const task = await tasks.create('demo', 'Count', { n: 3 });
    expect(task).toMatchObject({ app: 'demo', model: 'Count', status: 'queued', lastSeq: 0 });
    const events = await collect(tasks.events('demo', 'Count', task.id));
    expect(events.map((e) => [e.seq, e.type, e.data])).toEqual([
      [1, 'progress', { step: 1 }],
      [2, 'progress', { step: 2 }],
      [3, 'progress', { step: 3 }],
      [4, 'complete', { final_value: { counted: 3 } }],
    ]);
    const done = await tasks.get('demo', 'Count', task.id);
    expect(done).toMatchObject({ status: 'completed', finalValue: { counted: 3 }, lastSeq: 4 });
    expect(done!.startedAt).toBeGreaterThanOrEqual(done!.createdAt);
    expect(done!.finishedAt).toBeGreaterThanOrEqual(done!.startedAt!);
  });

  it('runs a function kind that emits its own event types', async () => {
    const tasks = await open();
    tasks.define('demo', 'Emit', async (_input, _ctx, task) => {
      await task.emit('start', { url: 'x' });
      void task.emit('progress', { bytes: 10 }); // not awaited: order holds anyway
      await task.emit('progress', { bytes: 20 });
      return 'ok';
    });
    const task = await tasks.create('demo', 'Emit', null);
    const events = await collect(tasks.events('demo', 'Emit', task.id));
    expect(events.map((e) => e.type)).toEqual(['start', 'progress', 'progress', 'complete']);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('refuses terminal event types from handlers', async () => {
    const tasks = await open();
    let refusal: unknown;
    tasks.define('demo', 'Cheat', async (_input, _ctx, task) => {
      refusal = await task.emit('complete', {}).catch((error: unknown) => error);
      return 1;
    });
    const task = await tasks.create('demo', 'Cheat', null);
    const events = await collect(tasks.events('demo', 'Cheat', task.id));
    expect(refusal).toBeInstanceOf(TypeError);
    expect(String(refusal)).toMatch(/complete/);
    expect(events.map((e) => e.type)).toEqual(['complete']);
  });

  it('a handler that throws ends the task failed with an error event carrying the message', async () => {
    const tasks = await open();
    tasks.define('demo', 'Boom', async () => {
      throw new Error('the disk is full');
    });
    const task = await tasks.create('demo', 'Boom', null);
    const events = await collect(tasks.events('demo', 'Boom', task.id));
    expect(events).toEqual([
      expect.objectContaining({ seq: 1, type: 'error', data: { message: 'the disk is full' } }),
    ]);
    expect(await tasks.get('demo', 'Boom', task.id)).toMatchObject({
      status: 'failed',
      error: 'the disk is full',
    });
  });

  it('runs at most `concurrency` tasks of a kind at once, the others in submit order', async () => {
    const tasks = await open();
    const gate = gatedKind(tasks, { concurrency: 2 });
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await tasks.create('test', 'Gate', i));
    await waitFor(() => gate.started.length === 2, 'the gate to start two tasks');
    expect(gate.started).toEqual([created[0]!.id, created[1]!.id]);
    expect(tasks.stats()).toEqual([
      { app: 'test', model: 'Gate', queued: 3, running: 2, concurrency: 2 },
    ]);
    gate.release.resolve();
    await Promise.all(created.map((t) => collect(tasks.events('test', 'Gate', t.id))));
    expect(gate.started).toEqual(created.map((t) => t.id));
  });

  it('keeps running when every watcher leaves', async () => {
    const tasks = await open();
    const gate = gatedKind(tasks);
    const task = await tasks.create('test', 'Gate', null);
    for await (const event of tasks.events('test', 'Gate', task.id)) {
      expect(event.type).toBe('progress');
      break;
    }
    gate.release.resolve();
    const events = await collect(tasks.events('test', 'Gate', task.id));
    expect(events.at(-1)).toMatchObject({ type: 'complete', data: { final_value: 'done' } });
  });
});

describe('TaskManager: the queue as a whole', () => {
  it('shows positions, the queue in submit order, status changes, and cancels every queued task at once', async () => {
    const tasks = await open();
    const gate = gatedKind(tasks, { concurrency: 1 });
    tasks.define('test', 'Other', async () => 1, { concurrency: 1 });
    const changes: string[] = [];
    const watching = tasks.onTaskChange((task) => changes.push(`${task.id}:${task.status}`));
    const a = await tasks.create('test', 'Gate', null, { id: 'a' });
    const b = await tasks.create('test', 'Gate', null, { id: 'b' });
    const c = await tasks.create('test', 'Gate', null, { id: 'c' });
    await waitFor(() => gate.started.length === 1, 'the gate to start a task');
    expect([a, b, c].map((t) => tasks.position(t.id))).toEqual([0, 1, 2]);
    expect(tasks.queue().queued.map((t) => t.id)).toEqual(['b', 'c']);
    expect(tasks.queue().running.map((t) => t.id)).toEqual(['a']);
    expect(await tasks.cancelQueued('reset by an admin')).toBe(2);
    expect(tasks.queue().queued).toEqual([]);
    expect(tasks.position('b')).toBe(0);
    expect((await tasks.get('test', 'Gate', 'c'))!.error).toBe('reset by an admin');
    gate.release.resolve();
    await collect(tasks.events('test', 'Gate', 'a'));
    watching.dispose();
    expect(changes).toEqual([
      'a:queued',
      'a:running',
      'b:queued',
      'c:queued',
      'b:cancelled',
      'c:cancelled',
      'a:completed',
    ]);
  });
});

describe('TaskManager: bad input', () => {
  it('names what was wrong', async () => {
    const tasks = await open({ maxQueued: 1, concurrency: 1 });
    tasks.define('demo', 'Strict', async () => 1, {
      validate(input) {
        if (typeof (input as { n?: unknown })?.n !== 'number')
          throw new Error('n must be a number');
        return input as { n: number };
      },
    });
    await expect(tasks.create('demo', 'Nope', {})).rejects.toBeInstanceOf(UnknownKindError);
    const refused = await tasks.create('demo', 'Strict', { n: 'x' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TaskInputError);
    expect(String(refused)).toMatch(/demo\/Strict refused the input: n must be a number/);
    expect(() => tasks.define('bad/app', 'X', async () => 1)).toThrow(/app must be/);
    expect(() => tasks.define('demo', 'Strict', async () => 1)).toThrow(/defined already/);
    await expect(tasks.create('demo', 'Strict', { n: 1 }, { id: 'no spaces' })).rejects.toThrow(
      /id must be/,
    );
  });

  it('refuses bad numeric options with a TypeError naming the option and the value it got', async () => {
    const opening = 'TaskManager.open(options): options';
    for (const [options, message] of [
      [{ concurrency: 0 }, `${opening}.concurrency must be a number > 0, got 0`],
      [{ maxQueued: -1 }, `${opening}.maxQueued must be a number >= 0, got -1`],
      [{ keepForMs: Number.NaN }, `${opening}.keepForMs must be a number >= 0, got NaN`],
      [{ watchBufferSize: '8' }, `${opening}.watchBufferSize must be a number > 0, got "8"`],
    ] as const) {
      const refused = await TaskManager.open(options as never).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TypeError);
      expect((refused as Error).message).toBe(message);
    }
    const tasks = await open();
    const define = 'TaskManager.define(app, model, handler, options): options';
    for (const [options, message] of [
      [{ timeoutMs: 0 }, `${define}.timeoutMs must be a number > 0, got 0`],
      [{ killAfterMs: -5 }, `${define}.killAfterMs must be a number >= 0, got -5`],
    ] as const) {
      const attempt = () => tasks.define('demo', 'Bad', async () => 1, options);
      expect(attempt).toThrow(TypeError);
      expect(attempt).toThrow(message);
    }
    const events = 'TaskManager.events(app, model, id, options): options';
    expect(() => tasks.events('demo', 'Bad', 'x', { after: 1.5 })).toThrow(
      `${events}.after must be an integer >= 0, got 1.5`,
    );
    expect(() => tasks.events('demo', 'Bad', 'x', { bufferSize: 0 })).toThrow(
      `${events}.bufferSize must be a number > 0, got 0`,
    );
    expect(() => tasks.shutdown({ graceMs: -1 })).toThrow(
      'TaskManager.shutdown(options): options.graceMs must be a number >= 0, got -1',
    );
  });

  it('refuses a task beyond maxQueued with QueueFullError', async () => {
    const tasks = await open({ maxQueued: 1 });
    const gate = gatedKind(tasks, { concurrency: 1 });
    await tasks.create('test', 'Gate', 1); // runs
    await waitFor(() => gate.started.length === 1, 'the gate to start a task');
    await tasks.create('test', 'Gate', 2); // waits
    const full = await tasks.create('test', 'Gate', 3).catch((error: unknown) => error);
    expect(full).toBeInstanceOf(QueueFullError);
    expect(String(full)).toMatch(/test\/Gate is full \(1 tasks waiting\)/);
  });

  it('watching an unknown task rejects with TaskNotFoundError', async () => {
    const tasks = await open();
    tasks.define('demo', 'Count', async () => 1);
    await expect(collect(tasks.events('demo', 'Count', 'missing'))).rejects.toBeInstanceOf(
      TaskNotFoundError,
    );
  });
});

describe('TaskManager: cancel', () => {
  it('reaches every watcher with one cancelled event, then ends each stream', async () => {
    const tasks = await open();
    const gate = gatedKind(tasks);
    const task = await tasks.create('test', 'Gate', null);
    await waitFor(() => gate.started.length === 1, 'the gate to start a task');
    const watchers = [1, 2, 3].map(() => collect(tasks.events('test', 'Gate', task.id)));
    expect(await tasks.cancelTask('test', 'Gate', task.id, { reason: 'user pressed stop' })).toBe(
      true,
    );
    for (const events of await Promise.all(watchers)) {
      const terminal = events.filter((e) =>
        ['complete', 'error', 'cancelled', 'timeout'].includes(e.type),
      );
      expect(terminal).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({
        type: 'cancelled',
        data: {
          message: 'user pressed stop',
          reason: { kind: 'stop', message: 'user pressed stop' },
        },
      });
    }
    expect(await tasks.get('test', 'Gate', task.id)).toMatchObject({
      status: 'cancelled',
      reason: { kind: 'stop' },
    });
  });

  it('with no watcher at all, and a second cancel, an unknown and a finished task return false', async () => {
    const tasks = await open();
    const gate = gatedKind(tasks);
    tasks.define('demo', 'Quick', async () => 'done');
    const task = await tasks.create('test', 'Gate', null);
    await waitFor(() => gate.started.length === 1, 'the gate to start a task');
    expect(await tasks.cancelTask('test', 'Gate', task.id)).toBe(true);
    expect(await tasks.cancelTask('test', 'Gate', task.id)).toBe(false);
    expect(await tasks.cancelTask('test', 'Gate', 'unknown-id')).toBe(false);
    expect(await tasks.cancelTask('demo', 'Quick', task.id)).toBe(false); // wrong kind
    const quick = await tasks.create('demo', 'Quick', null);
    await collect(tasks.events('demo', 'Quick', quick.id));
    expect(await tasks.cancelTask('demo', 'Quick', quick.id)).toBe(false);
    expect((await tasks.get('demo', 'Quick', quick.id))!.status).toBe('completed');
  });

  it('a queued task leaves the queue at once, never runs, and its finalize still runs', async () => {
    const tasks = await open();
    const finalized: TaskRecord[] = [];
    let ran = 0;
    const release = deferred<void>();
    tasks.define(
      'test',
      'One',
      async (_input, ctx) => {
        ran++;
        await Promise.race([release.promise, ctx.stopped()]);
      },
      { concurrency: 1, finalize: (task) => void finalized.push(task) },
    );
    const first = await tasks.create('test', 'One', null);
    const second = await tasks.create('test', 'One', null);
    expect(tasks.stats()[0]).toMatchObject({ queued: 1, running: 1 });
    expect(await tasks.cancelTask('test', 'One', second.id, { wait: true })).toBe(true);
    expect(tasks.stats()[0]).toMatchObject({ queued: 0, running: 1 });
    expect(finalized.map((t) => [t.id, t.status])).toEqual([[second.id, 'cancelled']]);
    const events = await collect(tasks.events('test', 'One', second.id));
    expect(events.map((e) => e.type)).toEqual(['cancelled']);
    release.resolve();
    await collect(tasks.events('test', 'One', first.id));
    expect(ran).toBe(1);
  });

  it('cancelled before the handler reached its first await: cancelled event, finally and finalize run', async () => {
    const tasks = await open();
    const order: string[] = [];
    tasks.define(
      'test',
      'Sync',
      async (_input, ctx) => {
        order.push('handler');
        try {
          await sleep(60_000, ctx);
        } finally {
          order.push('finally');
        }
      },
      { finalize: () => void order.push('finalize') },
    );
    const task = await tasks.create('test', 'Sync', null);
    // create() returns once the handler is running and parked at its first await.
    expect(await tasks.cancelTask('test', 'Sync', task.id, { wait: true })).toBe(true);
    expect(order).toEqual(['handler', 'finally', 'finalize']);
    const events = await collect(tasks.events('test', 'Sync', task.id));
    expect(events.map((e) => e.type)).toEqual(['cancelled']);
  });

  it('with wait, resolves only after the handler and its finalizers are done', async () => {
    const tasks = await open();
    const order: string[] = [];
    tasks.define(
      'test',
      'Slow',
      async function* (_input: unknown, ctx: Context) {
        ctx.defer(() => void order.push('ctx.defer'));
        try {
          yield 1;
          await sleep(60_000, ctx);
        } finally {
          await new Promise((resolve) => setImmediate(resolve));
          order.push('handler finally');
        }
      },
      { finalize: () => void order.push('finalize') },
    );
    const task = await tasks.create('test', 'Slow', null);
    await waitFor(
      async () => (await tasks.get('test', 'Slow', task.id))!.lastSeq === 1,
      'the first event to be stored',
    );
    expect(await tasks.cancelTask('test', 'Slow', task.id, { wait: true })).toBe(true);
    order.push('cancelTask resolved');
    expect(order).toEqual(['handler finally', 'ctx.defer', 'finalize', 'cancelTask resolved']);
  });

  it('cancel racing completion leaves exactly one terminal state, in the store and in the events', async () => {
    for (let round = 0; round < 50; round++) {
      const tasks = await open();
      const release = deferred<void>();
      tasks.define('test', 'Race', async () => {
        await release.promise;
        return 'finished';
      });
      const task = await tasks.create('test', 'Race', null);
      release.resolve();
      // Let the completion and the cancel land in either order.
      for (let i = 0; i < round % 4; i++) await Promise.resolve();
      const cancelled = await tasks.cancelTask('test', 'Race', task.id);
      const events = await collect(tasks.events('test', 'Race', task.id));
      const record = await tasks.get('test', 'Race', task.id);
      expect(events).toHaveLength(1);
      expect(events[0]!.type).toBe(cancelled ? 'cancelled' : 'complete');
      expect(record!.status).toBe(cancelled ? 'cancelled' : 'completed');
      await tasks.shutdown();
    }
  });

  it('drops what a handler emits after it was cancelled', async () => {
    const tasks = await open();
    const late = deferred<void>();
    tasks.define('test', 'Stubborn', async (_input, ctx, task) => {
      await ctx.stopped();
      await task.emit('progress', 'after the cancel');
      late.resolve();
      return 'ignored';
    });
    const task = await tasks.create('test', 'Stubborn', null);
    await tasks.cancelTask('test', 'Stubborn', task.id);
    await late.promise;
    const events = await collect(tasks.events('test', 'Stubborn', task.id));
    expect(events.map((e) => e.type)).toEqual(['cancelled']);
  });
});

describe('TaskManager: timeouts', () => {
  it('a task past its timeout ends timed_out with a timeout event, and its Context stops with kind deadline', async () => {
    const clock = new TestClock(Date.parse('2030-01-01T00:00:00Z'));
    const tasks = await open({ clock });
    let seen: string | undefined;
    tasks.define(
      'test',
      'Long',
      async (_input, ctx) => {
        await ctx.stopped();
        seen = ctx.reason?.kind;
      },
      { timeoutMs: 5_000 },
    );
    const task = await tasks.create('test', 'Long', null);
    const watching = collect(tasks.events('test', 'Long', task.id));
    clock.advance(5_000);
    const events = await watching;
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['timeout', { message: 'the task ran longer than its timeout of 5000 ms' }],
    ]);
    expect(await tasks.get('test', 'Long', task.id)).toMatchObject({
      status: 'timed_out',
      reason: { kind: 'deadline' },
    });
    await waitFor(() => seen !== undefined, 'the handler to see its reason');
    expect(seen).toBe('deadline');
  });
});

describe('TaskManager: watchers', () => {
  it('a late joiner and a resume from a seq miss nothing', async () => {
    const tasks = await open();
    const step = deferred<void>();
    tasks.define('test', 'Steps', async (_input, _ctx, task) => {
      for (let i = 1; i <= 3; i++) await task.emit('progress', i);
      await step.promise;
      for (let i = 4; i <= 6; i++) await task.emit('progress', i);
      return 'end';
    });
    const task = await tasks.create('test', 'Steps', null);
    await waitFor(
      async () => (await tasks.get('test', 'Steps', task.id))!.lastSeq === 3,
      'three events to be stored',
    );
    const late = collect(tasks.events('test', 'Steps', task.id));
    const resumed = collect(tasks.events('test', 'Steps', task.id, { after: 2 }));
    step.resolve();
    expect((await late).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((await resumed).map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
    // A finished task replays and ends at once; after the terminal seq there is nothing.
    expect((await collect(tasks.events('test', 'Steps', task.id))).length).toBe(7);
    expect(await collect(tasks.events('test', 'Steps', task.id, { after: 7 }))).toEqual([]);
    expect(await collect(tasks.events('test', 'Steps', task.id, { after: 999 }))).toEqual([]);
  });

  it('a slow watcher is dropped at its bound with the seq to resume from; the others get everything', async () => {
    const tasks = await open({ watchBufferSize: 8 });
    const go = deferred<void>();
    tasks.define('test', 'Burst', async (_input, _ctx, task) => {
      await go.promise;
      for (let i = 1; i <= 50; i++) await task.emit('progress', i);
      return 'done';
    });
    const task = await tasks.create('test', 'Burst', null);
    const fast = collect(tasks.events('test', 'Burst', task.id));
    const slow = tasks.events('test', 'Burst', task.id);
    // The slow one reads one event (to be live), then stops reading while the burst runs.
    const firstRead = slow.next();
    go.resolve();
    expect((await firstRead).value).toMatchObject({ seq: 1 });
    const fastEvents = await fast;
    expect(fastEvents.map((e) => e.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    const lagged = await collect(slow).catch((error: unknown) => error);
    expect(lagged).toBeInstanceOf(WatcherLaggedError);
    const resumeAfter = (lagged as WatcherLaggedError).resumeAfter;
    expect(resumeAfter).toBeGreaterThanOrEqual(1);
    const rest = await collect(tasks.events('test', 'Burst', task.id, { after: resumeAfter }));
    expect(rest.map((e) => e.seq)).toEqual(
      Array.from({ length: 51 - resumeAfter }, (_, i) => i + 1 + resumeAfter),
    );
  });

  it('a late joiner replaying more than its buffer is not dropped', async () => {
    const tasks = await open();
    tasks.define('test', 'Many', async (_input, _ctx, task) => {
      for (let i = 1; i <= 600; i++) await task.emit('progress', i);
      return 'done';
    });
    const task = await tasks.create('test', 'Many', null);
    await collect(tasks.events('test', 'Many', task.id, { bufferSize: 10_000 }));
    const events = await collect(tasks.events('test', 'Many', task.id, { bufferSize: 4 }));
    expect(events).toHaveLength(601);
    expect(events.every((e, i) => e.seq === i + 1)).toBe(true);
  });

  it('leaving the loop while waiting for an event releases the subscription', async () => {
    const store = new MemoryStore();
    const tasks = await open({ store });
    const gate = gatedKind(tasks);
    const task = await tasks.create('test', 'Gate', null);
    const watch = tasks.events('test', 'Gate', task.id);
    expect((await watch.next()).value).toMatchObject({ type: 'progress' });
    const pending = watch.next(); // waits: the handler is parked
    await watch.return();
    expect(await pending).toEqual({ done: true, value: undefined });
    gate.release.resolve();
  });
});

describe('TaskManager: shutdown and restart', () => {
  it('stops running tasks with kind shutdown, cancels queued ones, refuses new ones; every watcher gets its end', async () => {
    const tasks = await TaskManager.open();
    const gate = gatedKind(tasks, { concurrency: 1 });
    const running = await tasks.create('test', 'Gate', null);
    const queued = await tasks.create('test', 'Gate', null);
    await waitFor(() => gate.started.length === 1, 'the gate to start a task');
    const watchers = [running, queued].map((t) => collect(tasks.events('test', 'Gate', t.id)));
    await tasks.shutdown({ graceMs: 2_000 });
    await expect(tasks.create('test', 'Gate', null)).rejects.toBeInstanceOf(ShuttingDownError);
    for (const events of await Promise.all(watchers)) {
      expect(events.at(-1)).toMatchObject({
        type: 'cancelled',
        data: { reason: { kind: 'shutdown' } },
      });
    }
    expect(gate.finished).toEqual([running.id]);
  });

  it('kills the Context of a handler that outlives the grace', async () => {
    const tasks = await TaskManager.open();
    let killed = false;
    tasks.define('test', 'Deaf', async (_input, ctx) => {
      await ctx.killed();
      killed = true;
    });
    await tasks.create('test', 'Deaf', null);
    await tasks.shutdown({ graceMs: 50 });
    expect(killed).toBe(true);
  });

  it('marks tasks a crashed process left queued or running as failed, and keeps finished ones', async () => {
    const store = new MemoryStore();
    const base = { app: 'test', model: 'Any', input: null, createdAt: 1, lastSeq: 0 } as const;
    await store.insert({ ...base, id: 'was-running', status: 'queued' });
    await store.start('was-running', 2);
    await store.insert({ ...base, id: 'was-queued', status: 'queued' });
    await store.insert({ ...base, id: 'was-done', status: 'queued' });
    await store.finish('was-done', { status: 'completed', finalValue: 42 }, 3, Date.now() + 60_000);
    const tasks = await open({ store });
    tasks.define('test', 'Any', async () => 1);
    for (const id of ['was-running', 'was-queued']) {
      const task = await tasks.get('test', 'Any', id);
      expect(task).toMatchObject({ status: 'failed' });
      expect(task!.error).toMatch(/ended before the task finished/);
      const events = await collect(tasks.events('test', 'Any', id));
      expect(events.at(-1)!.type).toBe('error');
    }
    expect(await tasks.get('test', 'Any', 'was-done')).toMatchObject({
      status: 'completed',
      finalValue: 42,
    });
  });

  it('removes finished tasks and their events after keepFor', async () => {
    const clock = new TestClock(Date.parse('2030-01-01T00:00:00Z'));
    const tasks = await open({ clock, keepForMs: 60_000, sweepIntervalMs: 10_000 });
    tasks.define('demo', 'Quick', async () => 'done');
    tasks.define('demo', 'Kept', async () => 'done', { keepForMs: 3_600_000 });
    const quick = await tasks.create('demo', 'Quick', null);
    const kept = await tasks.create('demo', 'Kept', null);
    await collect(tasks.events('demo', 'Quick', quick.id));
    await collect(tasks.events('demo', 'Kept', kept.id));
    clock.advance(59_000);
    expect(await tasks.sweep()).toBe(0);
    clock.advance(1_000);
    expect(await tasks.sweep()).toBe(1);
    expect(await tasks.get('demo', 'Quick', quick.id)).toBeUndefined();
    expect(await tasks.store.events(quick.id, 0)).toEqual([]);
    expect(await tasks.get('demo', 'Kept', kept.id)).toBeDefined();
  });
});
