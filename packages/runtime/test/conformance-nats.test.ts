import { afterAll } from 'vitest';
import {
  type NatsServer,
  natsServerBinary,
  startNatsServer,
  stopAllNatsServers,
} from '../../../test/support/nats-server.js';
import { defineConformance } from './support/conformance.js';
import { NatsNetwork } from './support/nats-network.js';
import type { TransportFixture } from './support/peers.js';

// One nats-server for the file, started by the first network. Tests do not see each other's
// instances: a finished test's peers are SIGKILLed, and a new watcher learns the instances
// by asking, so only live processes answer.
const bin = natsServerBinary();
let server: Promise<NatsServer> | undefined;

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
