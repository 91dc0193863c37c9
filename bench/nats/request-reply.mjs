// Request/reply throughput over NATS with N requests in flight, against a configuration's
// backend tier (which must answer `<address>.echo`). The harness has no request/reply
// measure, so this forks the backend itself.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { summarize } from './lib/stats.mjs';

/**
 * @example
 * const r = await requestReply(rawNats, { natsUrl, inFlight: 100, durationMs: 3000 });
 * // { inFlight: 100, requestsPerSec: 21000, latencyUs: { p50, p99, ... } }
 */
export async function requestReply(
  config,
  { natsUrl, inFlight = 100, durationMs = 3000, bytes = 32 },
) {
  const script = config.scripts.backend;
  const child = fork(
    script instanceof URL ? fileURLToPath(script) : script,
    [JSON.stringify({ role: 'backend' })],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ANDON_BENCH_NATS_URL: natsUrl },
    },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const nc = await connect({ servers: natsUrl, name: 'request-reply-client' });
  try {
    const address = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('backend not ready in 15 s')), 15_000);
      child.on('message', (m) => {
        if (m.type === 'ready') resolve(m.address);
        if (m.type === 'error') reject(new Error(m.message));
        if (m.type === 'ready' || m.type === 'error') clearTimeout(timer);
      });
    });
    const payload = new Uint8Array(bytes);
    const latencies = [];
    const t0 = performance.now();
    const end = t0 + durationMs;
    const worker = async () => {
      while (performance.now() < end) {
        const s = process.hrtime.bigint();
        await nc.request(`${address}.echo`, payload, { timeout: 5000 });
        latencies.push(Number(process.hrtime.bigint() - s) / 1000);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = (performance.now() - t0) / 1000;
    return {
      inFlight,
      payloadBytes: bytes,
      requestsPerSec: Math.round(latencies.length / seconds),
      latencyUs: summarize(latencies),
    };
  } finally {
    await nc.close();
    child.disconnect?.();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
