// Request/reply throughput over NATS with N requests in flight, against a configuration's
// backend tier (which must answer `<address>.echo`). The harness has no request/reply
// measure, so this forks the backend itself.
import { connect } from '@nats-io/transport-node';
import { forkBackend, measureInFlight } from './lib/backend.mjs';

/**
 * @example
 * const r = await requestReply(rawNats, { natsUrl, inFlight: 100, durationMs: 3000 });
 * // { inFlight: 100, requestsPerSec: 21000, latencyUs: { p50, p99, ... } }
 */
export async function requestReply(
  config,
  { natsUrl, inFlight = 100, durationMs = 3000, bytes = 32 },
) {
  const backend = await forkBackend(config.scripts.backend, { ANDON_BENCH_NATS_URL: natsUrl });
  const nc = await connect({ servers: natsUrl, name: 'request-reply-client' });
  try {
    const payload = new Uint8Array(bytes);
    const measured = await measureInFlight(inFlight, durationMs, () =>
      nc.request(`${backend.address}.echo`, payload, { timeout: 5000 }),
    );
    return { inFlight, payloadBytes: bytes, ...measured };
  } finally {
    await nc.close();
    await backend.stop();
  }
}
