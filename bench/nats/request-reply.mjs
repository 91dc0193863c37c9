// Request/reply throughput over NATS with N requests in flight, against a configuration's
// server tier (which must answer `<address>.echo`). The harness has no request/reply
// measure, so this forks the server itself.
import { connect } from '@nats-io/transport-node';
import { forkServer, measureInFlight } from './lib/server-tier.mjs';

/**
 * @example
 * const r = await requestReply(rawNats, { natsUrl, inFlight: 100, durationMs: 3000 });
 * // { inFlight: 100, requestsPerSec: 21000, latencyUs: { p50, p99, ... } }
 */
export async function requestReply(
  config,
  { natsUrl, inFlight = 100, durationMs = 3000, bytes = 32 },
) {
  const server = await forkServer(config.scripts.server, { ANDON_BENCH_NATS_URL: natsUrl });
  const nc = await connect({ servers: natsUrl, name: 'request-reply-client' });
  try {
    const payload = new Uint8Array(bytes);
    const measured = await measureInFlight(inFlight, durationMs, () =>
      nc.request(`${server.address}.echo`, payload, { timeout: 5000 }),
    );
    return { inFlight, payloadBytes: bytes, ...measured };
  } finally {
    await nc.close();
    await server.stop();
  }
}
