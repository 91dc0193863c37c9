// Request/response throughput of andon with N calls in flight, over NATS or TCP: the same
// measure as request-reply.mjs (raw NATS request/reply), with an andon client in this
// process calling the `echo` endpoint of an andon backend in a child process. Each call is a
// whole andon stream: REQUEST, one DATA, END.
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Runtime } from '@andon/runtime';
import { summarize } from './lib/stats.mjs';

const BACKEND = fileURLToPath(new URL('../runtime/andon/backend.mjs', import.meta.url));

/**
 * @example
 * const r = await andonRequestReply('nats', { natsUrl, inFlight: 100, durationMs: 3000 });
 * // { transport: 'nats', inFlight: 100, requestsPerSec: 9000, latencyUs: { p50, p99, ... } }
 */
export async function andonRequestReply(
  transport,
  { natsUrl, inFlight = 100, durationMs = 3000, bytes = 32 },
) {
  const child = fork(BACKEND, [JSON.stringify({ role: 'backend' })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      ANDON_BENCH_NATS_URL: natsUrl,
      ANDON_BENCH_TRANSPORT: transport,
    },
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let rt;
  let dir;
  try {
    const address = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('backend not ready in 15 s')), 15_000);
      child.on('message', (m) => {
        if (m.type === 'ready') resolve(m.address);
        if (m.type === 'error') reject(new Error(m.message));
        if (m.type === 'ready' || m.type === 'error') clearTimeout(timer);
      });
    });
    const parsed = JSON.parse(address);
    const ns = parsed.ns;
    dir = parsed.dir;
    rt = await Runtime.start(
      transport === 'nats'
        ? { transport: 'nats', discovery: 'nats', natsUrl }
        : { transport: 'tcp', discovery: 'file', discoveryDir: dir },
    );
    const client = await rt.namespace(ns).component('backend').endpoint('echo').client();
    await client.waitForInstances();
    const payload = new Uint8Array(bytes);
    const latencies = [];
    const t0 = performance.now();
    const end = t0 + durationMs;
    const worker = async () => {
      while (performance.now() < end) {
        const s = process.hrtime.bigint();
        let n = 0;
        for await (const _item of await client.generate(payload)) n++;
        if (n !== 1) throw new Error(`echo answered ${n} items`);
        latencies.push(Number(process.hrtime.bigint() - s) / 1000);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = (performance.now() - t0) / 1000;
    return {
      transport,
      inFlight,
      payloadBytes: bytes,
      requestsPerSec: Math.round(latencies.length / seconds),
      latencyUs: summarize(latencies),
    };
  } finally {
    await rt?.shutdown({ graceMs: 0 });
    child.disconnect?.();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
