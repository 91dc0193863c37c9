import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type NatsServer,
  natsServerBinary,
  startNatsServer,
} from '../../../../test/support/nats-server.js';

/** The nats-server binary, or undefined (the JetStream tests then skip, unless ANDON_REQUIRE_NATS=1). */
export const natsServerBin = natsServerBinary();

/** A nats-server with JetStream on file storage in its own directory, which restarts keep. */
export interface JetStreamServer {
  readonly server: NatsServer;
  /** A new client connection that keeps reconnecting across restarts. */
  connect(options?: { user?: string; pass?: string }): Promise<NatsConnection>;
  /** Stops the server and removes its store directory. */
  stop(): Promise<void>;
}

export async function startJetStreamServer(extraConfig = ''): Promise<JetStreamServer> {
  const storeDir = mkdtempSync(join(tmpdir(), 'andon-js-'));
  const server = await startNatsServer({
    extraConfig: `jetstream { store_dir: ${JSON.stringify(storeDir)} }\n${extraConfig}`,
  });
  const connections: NatsConnection[] = [];
  return {
    server,
    async connect(options = {}) {
      const nc = await connect({
        servers: server.url,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 100,
        ...options,
      });
      connections.push(nc);
      return nc;
    },
    async stop() {
      await Promise.allSettled(connections.map((nc) => nc.close()));
      await server.stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
