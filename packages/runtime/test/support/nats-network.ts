import type { RuntimeOptions } from '@andon/runtime';
import { ProcessNetwork } from './peers.js';

/**
 * Peers in child processes over the NATS transport and NATS discovery of one nats-server.
 * `extra` is merged into every runtime's options (never put credentials there: they would
 * travel in a child's argv; use the environment instead).
 */
export class NatsNetwork extends ProcessNetwork {
  constructor(
    private readonly url: string,
    private readonly extra: RuntimeOptions = {},
  ) {
    super();
  }

  runtimeOptions(): RuntimeOptions {
    return {
      transport: 'nats',
      discovery: 'nats',
      natsUrl: this.url,
      heartbeatMs: this.heartbeatMs,
      ...this.extra,
    };
  }
}
