import type { RuntimeOptions } from '@andon/runtime';
import { afterAll } from 'vitest';
import { defineConformance } from './support/conformance.js';
import {
  type NatsServer,
  natsServerBinary,
  startNatsServer,
  stopAllNatsServers,
} from './support/nats-server.js';
import { ProcessNetwork, type TransportFixture } from './support/peers.js';

// One nats-server for the file, started by the first network; each test's network is
// isolated by its peers (fresh instance ids), as with TCP and a fresh discovery directory.
const bin = natsServerBinary();
let server: Promise<NatsServer> | undefined;

class NatsNetwork extends ProcessNetwork {
  constructor(private readonly url: string) {
    super();
  }

  runtimeOptions(): RuntimeOptions {
    return {
      transport: 'nats',
      discovery: 'nats',
      natsUrl: this.url,
      heartbeatMs: this.heartbeatMs,
    };
  }
}

const natsFixture: TransportFixture = {
  name: 'nats',
  processes: true,
  unavailable: () => (bin ? undefined : 'nats-server is not installed'),
  network: async () => {
    server ??= startNatsServer();
    return new NatsNetwork((await server).url);
  },
};

afterAll(() => stopAllNatsServers());

defineConformance(natsFixture);
