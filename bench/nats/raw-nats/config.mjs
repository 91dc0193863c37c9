// The raw NATS baseline as a benchmark configuration: client tier in this process,
// nats-server as the middle tier, the backend tier in a child process (backend.mjs).
// A harness calls cancelTrial() many times (interleaved with other configurations) and
// throughput() once; close() ends the backend and the connection.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';

const BACKEND = fileURLToPath(new URL('./backend.mjs', import.meta.url));

/**
 * @param {{ natsUrl: string }} options
 * @example
 * const cfg = await createRawNats({ natsUrl: 'nats://127.0.0.1:4222' });
 * const { latencyUs, itemsAfterStop } = await cfg.cancelTrial();
 * await cfg.close();
 */
export async function createRawNats({ natsUrl }) {
  const p = `bench.raw.${randomBytes(4).toString('hex')}`;
  const backend = spawn(process.execPath, [BACKEND, natsUrl, p], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const nc = await connect({ servers: natsUrl, name: 'raw-nats-client' });
  await waitForBackend(nc, p, backend);

  let onItem = () => {};
  let onResult = () => {};
  nc.subscribe(`${p}.items`, { callback: (_e, m) => onItem(m) });
  const resultInbox = `${p}.result`;
  nc.subscribe(resultInbox, { callback: (_e, m) => onResult(m) });
  await nc.flush();
  let trialNo = 0;

  return {
    name: 'raw-nats',
    /** One cancel: read 3 items, stop; resolves with tObs − tStop and items made after tStop. */
    cancelTrial() {
      const trial = String(++trialNo);
      const prefix = `${trial}:`;
      return new Promise((resolve, reject) => {
        let count = 0;
        let tStop = 0n;
        const timer = setTimeout(
          () => reject(new Error(`raw-nats trial ${trial} timed out`)),
          5000,
        );
        onItem = (m) => {
          if (!m.string().startsWith(prefix) || ++count !== 3) return;
          tStop = process.hrtime.bigint();
          nc.publish(`${p}.stop`, trial, { reply: resultInbox });
        };
        onResult = (m) => {
          const r = JSON.parse(m.string());
          if (r.trial !== trial) return;
          clearTimeout(timer);
          onItem = onResult = () => {};
          resolve({
            latencyUs: Number(BigInt(r.tObs) - tStop) / 1000,
            itemsAfterStop: r.times.filter((t) => BigInt(t) > tStop).length,
          });
        };
        nc.publish(`${p}.start`, trial);
      });
    },
    /** Request/reply with `inFlight` concurrent callers for `durationMs`. */
    async throughput({ inFlight = 100, durationMs = 3000, bytes = 32 } = {}) {
      const payload = new Uint8Array(bytes);
      const latencies = [];
      let done = 0;
      const end = performance.now() + durationMs;
      const t0 = performance.now();
      const worker = async () => {
        while (performance.now() < end) {
          const s = process.hrtime.bigint();
          await nc.request(`${p}.echo`, payload, { timeout: 5000 });
          latencies.push(Number(process.hrtime.bigint() - s) / 1000);
          done++;
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      return { requests: done, seconds: (performance.now() - t0) / 1000, latenciesUs: latencies };
    },
    async close() {
      backend.stdin.end();
      const exited = new Promise((r) => backend.once('exit', r));
      const t = setTimeout(() => backend.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
      await nc.close();
    },
  };
}

async function waitForBackend(nc, p, backend) {
  const until = Date.now() + 10_000;
  for (;;) {
    if (backend.exitCode !== null) throw new Error('raw-nats backend exited during start-up');
    try {
      await nc.request(`${p}.ping`, '', { timeout: 500 });
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
