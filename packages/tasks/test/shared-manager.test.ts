import type { Context } from '@andon/context';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deferred, waitFor } from '../../../test/support/wait.js';
import { type TaskEvent, TaskManager, type TaskRecord } from '../src/index.js';
import { JetStreamStore } from '../src/jetstream/jetstream-store.js';
import { type JetStreamServer, natsServerBin, startJetStreamServer } from './support/jetstream.js';

// Several TaskManagers in one test process, each with its own NATS connection and store,
// stand for processes on several machines sharing one JetStream.
describe.skipIf(natsServerBin === undefined)('TaskManager on a shared JetStream store', () => {
  let nats: JetStreamServer;
  let prefixCount = 0;
  let prefix = '';
  const managers: TaskManager[] = [];

  beforeAll(async () => {
    nats = await startJetStreamServer();
  });
  afterAll(() => nats?.stop());
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.shutdown({ graceMs: 200 })));
  });

  async function node(
    options: { livenessMs?: number; connection?: NatsConnection } = {},
  ): Promise<TaskManager> {
    prefix ||= `m${++prefixCount}`;
    const store = await JetStreamStore.open({
      connection: options.connection ?? (await nats.connect()),
      prefix,
      livenessMs: options.livenessMs ?? 10_000,
    });
    const manager = await TaskManager.open({ store });
    managers.push(manager);
    return manager;
  }

  afterEach(() => {
    prefix = '';
  });

  async function collect(watch: AsyncIterable<TaskEvent>): Promise<TaskEvent[]> {
    const events: TaskEvent[] = [];
    for await (const event of watch) events.push(event);
    return events;
  }

  // A kind that reports each start, then waits for its Context to stop (or a release).
  function blocking(manager: TaskManager, concurrency: number) {
    const started: string[] = [];
    const stopReasons: unknown[] = [];
    const release = deferred<void>();
    manager.define(
      'test',
      'Block',
      async function* (_input: unknown, ctx: Context, task) {
        started.push(task.id);
        yield { phase: 'started' };
        await Promise.race([release.promise, ctx.stopped()]);
        if (ctx.isStopped()) stopReasons.push(ctx.reason);
        return 'released';
      },
      { concurrency, killAfterMs: 1_000 },
    );
    return { started, stopReasons, release };
  }

  it('runs a task created on one front end on the worker, with its events on both', async () => {
    const frontA = await node();
    const frontB = await node();
    const worker = await node();
    blocking(frontA, 0);
    blocking(frontB, 0);
    const { started, release } = blocking(worker, 1);

    const task = await frontA.create('test', 'Block', {});
    const onA = collect(frontA.events('test', 'Block', task.id));
    const onB = collect(frontB.events('test', 'Block', task.id));
    await waitFor(() => started.length === 1, 'the worker to start the task', 5_000);
    expect(started).toEqual([task.id]);
    release.resolve();
    const [a, b] = await Promise.all([onA, onB]);
    expect(a.map((event) => event.type)).toEqual(['progress', 'complete']);
    expect(b).toStrictEqual(a);
    expect((await frontB.get('test', 'Block', task.id))?.status).toBe('completed');
  });

  it('stops the handler on the worker when another front end cancels, with the reason given there', async () => {
    const frontA = await node();
    const frontB = await node();
    const worker = await node();
    blocking(frontA, 0);
    blocking(frontB, 0);
    const { started, stopReasons } = blocking(worker, 1);

    const task = await frontA.create('test', 'Block', {});
    const onA = collect(frontA.events('test', 'Block', task.id));
    await waitFor(() => started.length === 1, 'the worker to start the task', 5_000);
    const cancelled = await frontB.cancelTask('test', 'Block', task.id, {
      reason: { kind: 'stop', message: 'user pressed stop', origin: 'browser' },
    });
    expect(cancelled).toBe(true);
    await waitFor(() => stopReasons.length === 1, 'the handler to see its stop', 5_000);
    expect(stopReasons[0]).toMatchObject({
      kind: 'stop',
      message: 'user pressed stop',
      origin: 'browser',
    });
    const events = await onA;
    expect(events.at(-1)).toMatchObject({
      type: 'cancelled',
      data: { reason: { message: 'user pressed stop' } },
    });
    expect(events.filter((event) => event.type === 'cancelled')).toHaveLength(1);
    expect((await worker.get('test', 'Block', task.id))?.status).toBe('cancelled');
  });

  it('removes a queued task cancelled on another front end before any worker takes it', async () => {
    const front = await node();
    const other = await node();
    const worker = await node();
    blocking(front, 0);
    blocking(other, 0);
    const { started, release } = blocking(worker, 1);

    const first = await front.create('test', 'Block', {});
    await waitFor(() => started.length === 1, 'the first task to start', 5_000);
    const second = await front.create('test', 'Block', {});
    const third = await front.create('test', 'Block', {});
    await waitFor(
      () => other.position(third.id) === 2,
      'the other front end to see the queue',
      5_000,
    );
    expect(other.position(second.id)).toBe(1);
    expect(front.position(third.id)).toBe(2);

    expect(await other.cancelTask('test', 'Block', second.id)).toBe(true);
    await waitFor(() => front.position(third.id) === 1, 'the queue to move up', 5_000);
    release.resolve();
    await collect(front.events('test', 'Block', third.id));
    expect(started).toEqual([first.id, third.id]);
    expect((await worker.get('test', 'Block', second.id))?.status).toBe('cancelled');
  });

  it('drains 100 tasks queued on two front ends, one slot each, in order and none twice', async () => {
    const one = await node();
    const two = await node();
    const order: string[] = [];
    for (const manager of [one, two]) {
      manager.define(
        'test',
        'Log',
        async (input: { n: number }, _ctx: Context, task) => {
          order.push(`${input.n}:${task.id}`);
          return input.n;
        },
        { concurrency: 1 },
      );
    }
    // Both front ends stay busy until every task is queued, so none starts early.
    const created: TaskRecord[] = [];
    for (let n = 0; n < 100; n++) {
      created.push(await (n % 2 === 0 ? one : two).create('test', 'Log', { n }));
    }
    await Promise.all(created.map((task) => collect(one.events('test', 'Log', task.id))));
    expect(order).toHaveLength(100);
    const ran = order.map((entry) => Number(entry.split(':')[0]));
    expect(new Set(ran).size).toBe(100);
    // Two slots take from one queue: a task never starts before one queued two places ahead of it.
    for (let index = 0; index < ran.length; index++) {
      expect(ran[index]).toBeLessThan(index + 2);
    }
    for (const task of created) {
      expect((await two.get('test', 'Log', task.id))?.status).toBe('completed');
    }
  });

  it('marks a silent worker’s task failed within its liveness period, for watchers everywhere', async () => {
    const front = await node({ livenessMs: 600 });
    blocking(front, 0);
    const workerConnection = await nats.connect();
    const worker = await node({ livenessMs: 600, connection: workerConnection });
    const { started } = blocking(worker, 1);

    const task = await front.create('test', 'Block', {});
    await waitFor(() => started.length === 1, 'the worker to start', 5_000);
    const watching = collect(front.events('test', 'Block', task.id));
    const silentAt = performance.now();
    // The worker's machine drops off the network: no goodbye, its liveness lapses.
    await workerConnection.close();
    const events = await watching;
    const tookMs = performance.now() - silentAt;
    expect(events.at(-1)).toMatchObject({ type: 'error' });
    expect((events.at(-1)?.data as { message: string }).message).toMatch(
      /silent for more than 600 ms/,
    );
    expect(tookMs).toBeLessThan(600 * 1.5 + 2_000);
  });
});
