// @andon/tasks under load, each figure side by side with a baseline in the same run.
// Prints one JSON document on stdout (progress on stderr).
//
//   npm run bench:tasks          (builds first)   or   node bench/tasks/run.mjs
//   npm run bench:tasks -- --nats   tasks shared on NATS JetStream instead (see nats.mjs)
//
// 1. Fan-out: one task emitting ANDON_BENCH_RATE events/s to ANDON_BENCH_WATCHERS SSE
//    watchers for ANDON_BENCH_SECONDS: events delivered/s, delivery latency p50/p99, server
//    RSS per watcher; against a bare node:http SSE broadcaster (no store, no tasks).
// 2. Cancel reaches ANDON_BENCH_CANCEL_WATCHERS watchers: from POST …/cancel (and from an
//    in-process cancelTask) to the last watcher's `cancelled` event, p50/p99 over
//    ANDON_BENCH_CANCEL_TRIALS; same baseline.
// 3. Tiny tasks through create → run → complete with the SQLite and memory stores, and the
//    same handler called directly: tasks/s and the coordinator's overhead per task. The
//    SQLite files go in ANDON_BENCH_DB_DIR (default the OS temp dir).
//
// Processes: the server under test (andon-server.mjs or raw-server.mjs) and the watchers
// (watchers.mjs) are children on 127.0.0.1, killed at the end, also on failure.
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { percentile } from '../nats/lib/stats.mjs';
import { nowUs } from './sse-client.mjs';
import { measureThroughput } from './throughput.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

function env(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a number >= 0`);
  return value;
}

const settings = {
  watchers: env('ANDON_BENCH_WATCHERS', 1000),
  rate: env('ANDON_BENCH_RATE', 1000),
  seconds: env('ANDON_BENCH_SECONDS', 10),
  cancelWatchers: env('ANDON_BENCH_CANCEL_WATCHERS', 100),
  cancelTrials: env('ANDON_BENCH_CANCEL_TRIALS', 30),
  tinyTasks: env('ANDON_BENCH_TINY_TASKS', 20_000),
  tinyConcurrency: env('ANDON_BENCH_TINY_CONCURRENCY', 16),
  tinyRuns: env('ANDON_BENCH_TINY_RUNS', 3),
  tinyDbDir: process.env.ANDON_BENCH_DB_DIR || tmpdir(),
};

const children = new Set();
const note = (text) => process.stderr.write(`bench:tasks: ${text}\n`);

/** A forked child with a request/answer helper over IPC. */
function child(file) {
  // ANDON_BENCH_PROFILE=DIR writes a CPU profile of every child into DIR.
  const profile = process.env.ANDON_BENCH_PROFILE;
  const execArgv = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const proc = fork(join(file), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  children.add(proc);
  const waiters = [];
  // Messages no one waits for yet (a child may answer before we ask).
  const early = [];
  proc.on('message', (message) => {
    const index = waiters.findIndex((w) => w.type === message.type);
    if (index !== -1) waiters.splice(index, 1)[0].resolve(message);
    else early.push(message);
  });
  proc.on('exit', (code) => {
    children.delete(proc);
    for (const w of waiters.splice(0))
      w.reject(new Error(`${file} exited (${code}) while waiting for ${w.type}`));
  });
  const next = (type, ms = 60_000) =>
    new Promise((resolve, reject) => {
      const index = early.findIndex((m) => m.type === type);
      if (index !== -1) {
        resolve(early.splice(index, 1)[0]);
        return;
      }
      const timer = setTimeout(() => reject(new Error(`${file}: no ${type} within ${ms} ms`)), ms);
      waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject,
      });
    });
  // Asks the child to exit and waits for it (so a profile gets written), at most 10 s.
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.send({ type: 'exit' });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    proc.kill('SIGKILL');
  };
  return { proc, next, stop, send: (message) => proc.send(message) };
}

function join(file) {
  return `${here}${file}`;
}

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  return response.json();
}

async function fanOut(kind) {
  const server = child(kind === 'andon' ? 'andon-server.mjs' : 'raw-server.mjs');
  const watchers = child('watchers.mjs');
  try {
    const { url } = await server.next('ready');
    await watchers.next('ready');
    server.send({ type: 'rss' });
    const before = (await server.next('rss')).rss;
    let eventsUrl = `${url}/events`;
    if (kind === 'andon') {
      const task = await post(`${url}/v1/tasks/bench/Tick`, {});
      eventsUrl = `${url}/v1/tasks/bench/Tick/${task.id}/events`;
    }
    // Both servers greet each watcher with one event first: every watcher is connected
    // (and past its replay) before the clock starts.
    watchers.send({ type: 'connect', url: eventsUrl, count: settings.watchers });
    await watchers.next('connected', 120_000);
    server.send({ type: 'rss' });
    const after = (await server.next('rss')).rss;
    const goAtUs = nowUs();
    server.send({ type: 'go', rate: settings.rate, seconds: settings.seconds });
    // Let the emission run its course, then wait for the stragglers (at most 10 s more).
    await new Promise((resolve) => setTimeout(resolve, settings.seconds * 1000));
    const expected = settings.rate * settings.seconds * settings.watchers;
    const drainUntil = performance.now() + 10_000;
    for (;;) {
      watchers.send({ type: 'report' });
      const { events } = await watchers.next('report');
      if (events >= expected || performance.now() > drainUntil) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    watchers.send({ type: 'report', percentiles: true });
    const report = await watchers.next('report');
    // From `go` to the last event received: longer than the emission when the fan-out
    // cannot keep up, and then the rate is what it could deliver.
    const deliverySeconds = (report.lastAtUs - goAtUs) / 1e6;
    return {
      eventsDelivered: report.events,
      deliveredFraction: Math.round((report.events / expected) * 1000) / 1000,
      deliverySeconds: Math.round(deliverySeconds * 100) / 100,
      eventsDeliveredPerSec: Math.round(report.events / Math.max(deliverySeconds, 1e-3)),
      latencyP50Us: report.p50Us,
      latencyP99Us: report.p99Us,
      // Watchers dropped for falling behind (andon's `lagged`; always 0 for the baseline).
      watchersLagged: report.lagged,
      rssPerWatcherKiB: Math.round((after - before) / settings.watchers / 1024),
    };
  } finally {
    await Promise.all([server.stop(), watchers.stop()]);
  }
}

/**
 * From the cancel to the last watcher's `cancelled` event, per trial. `via` is `http`
 * (POST …/cancel from here, clock started before the request) or `inProcess` (the server
 * calls cancelTask itself and says when it started).
 */
async function cancelFanOut(kind, via) {
  const server = child(kind === 'andon' ? 'andon-server.mjs' : 'raw-server.mjs');
  const watchers = child('watchers.mjs');
  const latenciesMs = [];
  try {
    const { url } = await server.next('ready');
    await watchers.next('ready');
    for (let trial = 0; trial < settings.cancelTrials; trial++) {
      let eventsUrl = `${url}/events`;
      let cancelUrl = `${url}/cancel`;
      let id;
      if (kind === 'andon') {
        id = (await post(`${url}/v1/tasks/bench/Gate`, {})).id;
        eventsUrl = `${url}/v1/tasks/bench/Gate/${id}/events`;
        cancelUrl = `${url}/v1/tasks/bench/Gate/${id}/cancel`;
      }
      watchers.send({ type: 'connect', url: eventsUrl, count: settings.cancelWatchers });
      await watchers.next('connected');
      let t0Us;
      let cancelled;
      if (via === 'http') {
        t0Us = nowUs();
        [cancelled] = await Promise.all([watchers.next('cancelled'), post(cancelUrl)]);
      } else {
        server.send({ type: 'cancel', id });
        let answer;
        [cancelled, answer] = await Promise.all([
          watchers.next('cancelled'),
          server.next('cancel'),
        ]);
        t0Us = answer.t0Us;
      }
      latenciesMs.push((cancelled.lastAtUs - t0Us) / 1000);
      watchers.send({ type: 'close' });
      await watchers.next('closed');
    }
    const r = (x) => Math.round(x * 100) / 100;
    return {
      trials: latenciesMs.length,
      lastWatcherP50Ms: r(percentile(latenciesMs, 50)),
      lastWatcherP99Ms: r(percentile(latenciesMs, 99)),
      lastWatcherMaxMs: r(Math.max(...latenciesMs)),
    };
  } finally {
    await Promise.all([server.stop(), watchers.stop()]);
  }
}

function killChildren() {
  for (const proc of children) proc.kill('SIGKILL');
}
process.on('exit', killChildren);
// A signal skips 'exit' handlers: kill the children first, then die of the signal's code.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killChildren();
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  });
}

if (process.argv.includes('--nats')) {
  const { runNatsBench } = await import('./nats.mjs');
  await runNatsBench();
  process.exit(0);
}

try {
  note('tiny tasks: create → run → complete');
  const tiny = await measureThroughput({
    count: settings.tinyTasks,
    concurrency: settings.tinyConcurrency,
    runs: settings.tinyRuns,
  });
  const median = (values) => percentile(values, 50);
  const tps = {
    sqlite: median(tiny.sqlite),
    memory: median(tiny.memory),
    direct: median(tiny.direct),
  };
  const overheadUs = (rate) => Math.round((1e6 / rate - 1e6 / tps.direct) * 10) / 10;
  note(`fan-out: ${settings.watchers} watchers, ${settings.rate} events/s, ${settings.seconds} s`);
  const fan = { andon: await fanOut('andon'), raw: await fanOut('raw') };
  note(`cancel to ${settings.cancelWatchers} watchers, ${settings.cancelTrials} trials`);
  const cancel = {};
  for (const kind of ['andon', 'raw']) {
    cancel[kind] = {
      http: await cancelFanOut(kind, 'http'),
      inProcess: await cancelFanOut(kind, 'inProcess'),
    };
  }
  const result = {
    bench: 'tasks',
    settings,
    fanOut: {
      ...fan,
      deliveredVsRaw:
        Math.round((fan.andon.eventsDeliveredPerSec / fan.raw.eventsDeliveredPerSec) * 100) / 100,
    },
    cancelToWatchers: { ...cancel, targetP99Ms: 20 },
    tinyTasks: {
      tasksPerSec: {
        sqlite: Math.round(tps.sqlite),
        memory: Math.round(tps.memory),
        direct: Math.round(tps.direct),
      },
      runs: Object.fromEntries(
        Object.entries(tiny).map(([name, values]) => [name, values.map(Math.round)]),
      ),
      overheadPerTaskUs: { sqlite: overheadUs(tps.sqlite), memory: overheadUs(tps.memory) },
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  killChildren();
}
