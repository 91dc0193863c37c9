// What both request/response measures share: a server tier forked on its own, and a
// closed loop keeping N calls in flight.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from './stats.mjs';

const READY_MS = 15_000;

/**
 * Forks a server tier (harness contract: ../../runtime/harness.mjs) with `env` added, and
 * resolves with its address once it is ready; `stop()` ends it (SIGKILL after 3 s).
 */
export async function forkServer(script, env) {
  const child = fork(
    script instanceof URL ? fileURLToPath(script) : script,
    [JSON.stringify({ role: 'server' })],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } },
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    child.disconnect?.();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const address = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`server not ready in ${READY_MS / 1000} s`)),
        READY_MS,
      );
      child.on('message', (m) => {
        if (m.type === 'ready') resolve(m.address);
        if (m.type === 'error') reject(new Error(m.message));
        if (m.type === 'ready' || m.type === 'error') clearTimeout(timer);
      });
    });
    return { address, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Runs `call()` in `inFlight` closed loops for `durationMs`; rate and latency of the calls. */
export async function measureInFlight(inFlight, durationMs, call) {
  const latencies = [];
  const t0 = performance.now();
  const end = t0 + durationMs;
  const loop = async () => {
    while (performance.now() < end) {
      const start = process.hrtime.bigint();
      await call();
      latencies.push(Number(process.hrtime.bigint() - start) / 1000);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  const seconds = (performance.now() - t0) / 1000;
  return {
    requestsPerSec: Math.round(latencies.length / seconds),
    latencyUs: summarize(latencies),
  };
}
