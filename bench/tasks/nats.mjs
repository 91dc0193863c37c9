// `npm run bench:tasks -- --nats`: tasks shared on NATS JetStream across processes, each
// figure beside a baseline measured in the same run. Prints one JSON document on stdout.
//
// Front ends A and B are two TaskManagers in this process, each on its own connection;
// worker D is a child process (nats-worker.mjs). One nats-server -js on 127.0.0.1.
//
// 1. Cancel at B → the handler's Context stopped on D: p50/p99 over ANDON_BENCH_CANCEL_TRIALS;
//    baseline: one core NATS message from here to D.
// 2. Event delivery from D's handler to a watcher on A (ANDON_BENCH_EVENTS at 1 per ms):
//    p50/p99; baseline: core NATS publish from D to a subscriber here.
// 3. Tasks/s through create (on A) → run (on D) → complete (seen on A), ANDON_BENCH_TINY_TASKS
//    tasks; beside the same in one process on JetStream, on SQLite, and in memory.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TaskManager } from '@andon/tasks';
import { JetStreamStore } from '@andon/tasks/jetstream';
import { connect } from '@nats-io/transport-node';
import { findNatsServer } from '../nats/lib/nats-server.mjs';
import { percentile } from '../nats/lib/stats.mjs';
import { measureThroughput } from './throughput.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const note = (text) => process.stderr.write(`bench:tasks --nats: ${text}\n`);
const r = (x) => Math.round(x * 100) / 100;

function env(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a number >= 0`);
  return value;
}

const settings = {
  cancelTrials: env('ANDON_BENCH_CANCEL_TRIALS', 100),
  events: env('ANDON_BENCH_EVENTS', 2000),
  tinyTasks: env('ANDON_BENCH_TINY_TASKS', 2000),
  tinyConcurrency: env('ANDON_BENCH_TINY_CONCURRENCY', 16),
};

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startJetStream() {
  const bin = findNatsServer();
  if (!bin) throw new Error('nats-server not found on PATH (apt-get install nats-server)');
  const dir = mkdtempSync(join(tmpdir(), 'andon-bench-js-'));
  const port = await freePort();
  const proc = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
    stdio: 'ignore',
  });
  const url = `nats://127.0.0.1:${port}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await (await connect({ servers: url })).close();
      break;
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    stop() {
      proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function worker(url) {
  const proc = fork(join(here, 'nats-worker.mjs'), [url], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const listeners = new Set();
  proc.on('message', (message) => {
    for (const listener of [...listeners]) listener(message);
  });
  const next = (type, match = () => true) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker: no ${type} within 30 s`)), 30_000);
      const listener = (message) => {
        if (message.type !== type || !match(message)) return;
        listeners.delete(listener);
        clearTimeout(timer);
        resolve(message);
      };
      listeners.add(listener);
    });
  return { proc, next, send: (message) => proc.send(message) };
}

async function frontEnd(url) {
  const nc = await connect({ servers: url });
  const tasks = await TaskManager.open({
    store: await JetStreamStore.open({ connection: nc, prefix: 'bench' }),
  });
  for (const model of ['Hold', 'Emit', 'Tiny']) {
    tasks.define('bench', model, async () => {}, { concurrency: 0, maxQueued: 1e6 });
  }
  return {
    tasks,
    nc,
    close: async () => {
      await tasks.shutdown({ graceMs: 0 });
      await nc.close();
    },
  };
}

async function cancelLatency(a, b, d) {
  const andon = [];
  const raw = [];
  for (let trial = 0; trial < settings.cancelTrials; trial++) {
    const task = await a.tasks.create('bench', 'Hold', {});
    for await (const event of a.tasks.events('bench', 'Hold', task.id)) {
      if (event.type === 'progress') break;
    }
    const stopped = d.next('stopped', (m) => m.id === task.id);
    const t0 = nowUs();
    await b.tasks.cancelTask('bench', 'Hold', task.id, { reason: 'bench' });
    andon.push(((await stopped).atUs - t0) / 1000);

    const rawStopped = d.next('raw-stopped');
    const t1 = nowUs();
    b.nc.publish('bench.raw.stop', '');
    raw.push(((await rawStopped).atUs - t1) / 1000);
  }
  return { andon: summary(andon), rawNats: summary(raw) };
}

async function deliveryLatency(a, d) {
  const andon = [];
  const task = await a.tasks.create('bench', 'Emit', { count: settings.events, intervalMs: 1 });
  for await (const event of a.tasks.events('bench', 'Emit', task.id)) {
    if (event.type === 'tick') andon.push((nowUs() - event.data.sentAtUs) / 1000);
  }
  const raw = [];
  const sub = a.nc.subscribe('bench.raw.events', { max: settings.events });
  await a.nc.flush();
  d.send({ type: 'raw-emit', count: settings.events, intervalMs: 1 });
  for await (const message of sub) raw.push((nowUs() - message.json().sentAtUs) / 1000);
  return { andon: summary(andon), rawNats: summary(raw) };
}

async function acrossProcesses(a) {
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  const watching = a.tasks.onTaskChange((task) => {
    if (task.model === 'Tiny' && task.status === 'completed' && ++done === settings.tinyTasks) {
      finish();
    }
  });
  const t0 = performance.now();
  for (let i = 0; i < settings.tinyTasks; i++) await a.tasks.create('bench', 'Tiny', null);
  await finished;
  watching.dispose();
  return settings.tinyTasks / ((performance.now() - t0) / 1000);
}

async function inOneProcess(url) {
  const nc = await connect({ servers: url });
  const tasks = await TaskManager.open({
    store: await JetStreamStore.open({ connection: nc, prefix: 'bench_one' }),
    concurrency: settings.tinyConcurrency,
    maxQueued: 1e6,
  });
  tasks.define('bench', 'Tiny', async () => 1);
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  const watching = tasks.onTaskChange((task) => {
    if (task.status === 'completed' && ++done === settings.tinyTasks) finish();
  });
  const t0 = performance.now();
  for (let i = 0; i < settings.tinyTasks; i++) await tasks.create('bench', 'Tiny', null);
  await finished;
  const rate = settings.tinyTasks / ((performance.now() - t0) / 1000);
  watching.dispose();
  await tasks.shutdown({ graceMs: 0 });
  await nc.close();
  return rate;
}

function summary(valuesMs) {
  return {
    n: valuesMs.length,
    p50Ms: r(percentile(valuesMs, 50)),
    p99Ms: r(percentile(valuesMs, 99)),
    maxMs: r(Math.max(...valuesMs)),
  };
}

export async function runNatsBench() {
  const nats = await startJetStream();
  let d;
  const fronts = [];
  try {
    d = worker(nats.url);
    await d.next('ready');
    const a = await frontEnd(nats.url);
    const b = await frontEnd(nats.url);
    fronts.push(a, b);
    note(`cancel at B → Context stopped on D, ${settings.cancelTrials} trials`);
    const cancel = await cancelLatency(a, b, d);
    note(`event delivery D → watcher on A, ${settings.events} events`);
    const delivery = await deliveryLatency(a, d);
    note(`tiny tasks, ${settings.tinyTasks} per store`);
    const shared = await acrossProcesses(a);
    const oneProcess = await inOneProcess(nats.url);
    const local = await measureThroughput({
      count: settings.tinyTasks,
      concurrency: settings.tinyConcurrency,
      runs: 1,
    });
    const result = {
      bench: 'tasks --nats',
      settings,
      cancelAtBToContextStoppedOnD: {
        ...cancel,
        p50VsRaw: r(cancel.andon.p50Ms / cancel.rawNats.p50Ms),
        targetP99Ms: 20,
      },
      eventDeliveryToAnotherFrontEnd: {
        ...delivery,
        p50VsRaw: r(delivery.andon.p50Ms / delivery.rawNats.p50Ms),
      },
      tasksPerSec: {
        jetstreamCreateOnAThenRunOnD: Math.round(shared),
        jetstreamOneProcess: Math.round(oneProcess),
        sqlite: Math.round(local.sqlite[0]),
        memory: Math.round(local.memory[0]),
        jetstreamVsSqlite: r(shared / local.sqlite[0]),
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await Promise.allSettled(fronts.map((front) => front.close()));
    d?.proc.kill('SIGKILL');
    nats.stop();
  }
}
