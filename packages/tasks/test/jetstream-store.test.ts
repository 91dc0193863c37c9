import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamStore } from '../src/jetstream/jetstream-store.js';
import { storeConformance } from './store-conformance.js';
import { type JetStreamServer, natsServerBin, startJetStreamServer } from './support/jetstream.js';

describe.skipIf(natsServerBin === undefined)('JetStreamStore', () => {
  let nats: JetStreamServer;
  let nc: NatsConnection;
  let count = 0;

  beforeAll(async () => {
    nats = await startJetStreamServer();
    nc = await nats.connect();
  });
  afterAll(() => nats?.stop());

  // A prefix per test keeps every test's buckets and stream apart on one server; reopening
  // the prefix is what a restarted process does.
  storeConformance(
    'JetStreamStore',
    async () => {
      const prefix = `t${++count}`;
      const open = () => JetStreamStore.open({ connection: nc, prefix });
      return { store: await open(), reopen: open };
    },
    { restarts: true },
  );
});

describe.skipIf(natsServerBin === undefined)('JetStreamStore names', () => {
  let nats: JetStreamServer;
  beforeAll(async () => {
    nats = await startJetStreamServer();
  });
  afterAll(() => nats?.stop());

  it('keeps ids with dots and colons apart from each other and from their neighbours', async () => {
    const store = await JetStreamStore.open({ connection: await nats.connect(), prefix: 'ids' });
    const ids = ['job.1', 'job:1', 'job-1', 'job', 'a.b.c:d'];
    for (const id of ids) {
      await store.insert({
        id,
        app: 'demo',
        model: 'Count',
        status: 'queued',
        input: { id },
        createdAt: 1,
        lastSeq: 0,
      });
      await store.append(id, 'progress', { id }, 2);
    }
    for (const id of ids) {
      expect((await store.get(id))?.input).toEqual({ id });
      expect(await store.events(id, 0)).toEqual([
        { seq: 1, type: 'progress', data: { id }, timestamp: 2 },
      ]);
    }
    expect((await store.list()).map((task) => task.id).sort()).toEqual([...ids].sort());
    await store.close();
    // A second process sees the same names.
    const again = await JetStreamStore.open({ connection: await nats.connect(), prefix: 'ids' });
    expect((await again.list()).map((task) => task.id).sort()).toEqual([...ids].sort());
    expect((await again.events('a.b.c:d', 0))[0]?.data).toEqual({ id: 'a.b.c:d' });
    await again.close();
  });

  it('refuses a prefix NATS cannot use, saying what is allowed', async () => {
    await expect(
      JetStreamStore.open({ connection: await nats.connect(), prefix: 'has.dot' }),
    ).rejects.toThrow(/prefix must be 1-32 letters, digits, '_' or '-', got "has.dot"/);
  });

  it('refuses a livenessMs under 100 with a TypeError naming the option and the value', async () => {
    const connection = await nats.connect();
    const refused = await JetStreamStore.open({ connection, livenessMs: 50 }).catch(
      (e: unknown) => e,
    );
    await connection.close();
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as Error).message).toBe(
      'JetStreamStore.open(options): options.livenessMs must be a number >= 100, got 50',
    );
  });
});
