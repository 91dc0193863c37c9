import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe } from 'vitest';
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
