// bench:queue: the request queue over WebSocket (GET /v1/ws, docs/QUEUE.md), on 127.0.0.1.
// Prints one JSON document on stdout (progress on stderr).
//
//   npm run bench:queue          (builds first)   or   node bench/queue/run.mjs
//
// 1. interrupt → the handler's Context stopped, with the handler in the server process
//    (bench/Hold) and in a worker process (llm/Complete through the runtime: until the
//    worker's engine reports the cancel, slot freed), p50/p99 over ANDON_BENCH_TRIALS; also
//    interrupt → the `error` answer at the client.
// 2. cancel_request of a queued request → the first queue_update without it, p50/p99.
// 3. submit → `queued` ack, p50/p99.
// 4. queue_update fan-out: queue changes as fast as one client makes them, for
//    ANDON_BENCH_SECONDS, to ANDON_BENCH_SOCKETS sockets: messages/s received.
//
// Times are on the clock every process shares (CLOCK_MONOTONIC). Processes: the server and
// the worker are children, killed at the end, also on failure.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { summarize } from '../nats/lib/stats.mjs';
import { clockSince } from '../server/common.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const env = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a number > 0`);
  return value;
};
const settings = {
  trials: env('ANDON_BENCH_TRIALS', 200),
  workerTrials: env('ANDON_BENCH_WORKER_TRIALS', 50),
  sockets: env('ANDON_BENCH_SOCKETS', 200),
  seconds: env('ANDON_BENCH_SECONDS', 5),
};
const note = (text) => process.stderr.write(`bench:queue: ${text}\n`);
const baseNs = process.hrtime.bigint().toString();
const now = clockSince(baseNs);
const children = new Set();

/** A forked child whose messages can be awaited by type. */
function child(file, args) {
  const proc = fork(join(here, file), [JSON.stringify(args)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.add(proc);
  const inbox = [];
  const waiters = [];
  proc.on('message', (message) => {
    const index = waiters.findIndex((w) => w.type === message.type);
    if (index !== -1) waiters.splice(index, 1)[0].resolve(message);
    else inbox.push(message);
  });
  proc.on('exit', () => children.delete(proc));
  const next = (type, ms = 30_000) =>
    new Promise((resolve, reject) => {
      const index = inbox.findIndex((m) => m.type === type);
      if (index !== -1) return resolve(inbox.splice(index, 1)[0]);
      const timer = setTimeout(() => reject(new Error(`${file}: no ${type} within ${ms} ms`)), ms);
      waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  return { proc, next };
}

/** A WebSocket client of /v1/ws; `next` resolves with the first unread matching message. */
async function socket(url) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`);
  const inbox = [];
  const waiters = [];
  let count = 0;
  ws.on('message', (data) => {
    count++;
    const message = JSON.parse(data.toString());
    message.receivedAt = now();
    const index = waiters.findIndex((w) => w.match(message));
    if (index !== -1) waiters.splice(index, 1)[0].resolve(message);
    else if (waiters !== null) inbox.push(message);
    if (inbox.length > 10_000) inbox.splice(0, 5_000);
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    get count() {
      return count;
    },
    send: (message) => ws.send(JSON.stringify(message)),
    clear: () => inbox.splice(0),
    next: (match, ms = 30_000) =>
      new Promise((resolve, reject) => {
        const index = inbox.findIndex(match);
        if (index !== -1) return resolve(inbox.splice(index, 1)[0]);
        const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
        waiters.push({
          match,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      }),
  };
}

const ms = (us) => us / 1000;
const summaryMs = (values) => {
  const s = summarize(values);
  const r = (x) => Math.round(ms(x) * 1000) / 1000;
  return { n: s.n, p50_ms: r(s.p50), p99_ms: r(s.p99), mean_ms: r(s.mean) };
};
const is = (type, id) => (m) => m.type === type && (id === undefined || m.request_id === id);

async function interruptInProcess(client, server) {
  const stop = [];
  const answer = [];
  for (let i = 0; i < settings.trials; i++) {
    const id = `hold-${i}`;
    client.send({ type: 'submit', kind: 'bench/Hold', input: null, request_id: id });
    await client.next(is('progress', id));
    const t0 = now();
    client.send({ type: 'interrupt', request_id: id, context: 'analysis' });
    const [stopped, answered] = await Promise.all([
      server.next('stopped'),
      client.next(is('error', id)),
    ]);
    if (stopped.id !== id) throw new Error(`stopped ${stopped.id}, expected ${id}`);
    stop.push(stopped.at - t0);
    answer.push(answered.receivedAt - t0);
    await client.next(is('result', id));
  }
  return { context_stopped: summaryMs(stop), answer_received: summaryMs(answer) };
}

async function interruptOnWorker(client, worker) {
  const stop = [];
  const answer = [];
  for (let i = 0; i < settings.workerTrials; i++) {
    const id = `gen-${i}`;
    client.send({
      type: 'submit',
      kind: 'llm/Complete',
      input: { prompt: 'hi', max_tokens: 1_000_000 },
      request_id: id,
    });
    await client.next(is('progress', id));
    const t0 = now();
    client.send({ type: 'interrupt', request_id: id, context: 'generation' });
    const [cancelled, answered] = await Promise.all([
      worker.next('cancelled'),
      client.next(is('error', id)),
    ]);
    stop.push(cancelled.at - t0);
    answer.push(answered.receivedAt - t0);
    await client.next(is('result', id));
  }
  return { engine_cancelled_slot_freed: summaryMs(stop), answer_received: summaryMs(answer) };
}

async function cancelQueued(client) {
  // One Gate holds the only slot, so every other one waits.
  client.send({ type: 'submit', kind: 'bench/Gate', input: null, request_id: 'gate-holder' });
  await client.next(is('queued', 'gate-holder'));
  const gone = [];
  const answered = [];
  const acks = [];
  for (let i = 0; i < settings.trials; i++) {
    const id = `wait-${i}`;
    const s0 = now();
    client.send({ type: 'submit', kind: 'bench/Gate', input: null, request_id: id });
    const queued = await client.next(is('queued', id));
    acks.push(queued.receivedAt - s0);
    await client.next((m) => m.type === 'queue_update' && m.queued_ids.includes(id));
    client.clear();
    const t0 = now();
    client.send({ type: 'cancel_request', request_id: id });
    const [update, answer] = await Promise.all([
      client.next((m) => m.type === 'queue_update' && !m.queued_ids.includes(id)),
      client.next(is('request_cancelled', id)),
    ]);
    gone.push(update.receivedAt - t0);
    answered.push(answer.receivedAt - t0);
  }
  client.send({ type: 'cancel_request', request_id: 'gate-holder' });
  await client.next(is('error', 'gate-holder'));
  return {
    cancel: { gone_from_queued_ids: summaryMs(gone), answer_received: summaryMs(answered) },
    submit_ack: summaryMs(acks),
  };
}

async function fanOut(url, client) {
  const sockets = await Promise.all(Array.from({ length: settings.sockets }, () => socket(url)));
  await Promise.all(sockets.map((s) => s.next(is('queue_update'))));
  for (const s of sockets) s.clear();
  client.send({ type: 'submit', kind: 'bench/Gate', input: null, request_id: 'fan-holder' });
  await client.next(is('queued', 'fan-holder'));
  const before = sockets.reduce((sum, s) => sum + s.count, 0);
  const start = now();
  const until = performance.now() + settings.seconds * 1000;
  let changes = 0;
  for (let i = 0; performance.now() < until; i++) {
    const id = `fan-${i}`;
    client.send({ type: 'submit', kind: 'bench/Gate', input: null, request_id: id });
    await client.next(is('queued', id));
    client.send({ type: 'cancel_request', request_id: id });
    await client.next(is('request_cancelled', id));
    client.clear();
    changes += 2;
  }
  const elapsedS = (now() - start) / 1e6;
  const received = sockets.reduce((sum, s) => sum + s.count, 0) - before;
  for (const s of sockets) s.ws.terminate();
  return {
    sockets: settings.sockets,
    seconds: Math.round(elapsedS * 100) / 100,
    queue_changes: changes,
    messages_received: received,
    messages_per_second: Math.round(received / elapsedS),
    updates_per_socket_per_second: Math.round(received / settings.sockets / elapsedS),
  };
}

async function main() {
  const discoveryDir = await mkdtemp(join(tmpdir(), 'andon-bench-queue-'));
  const hardStop = setTimeout(() => {
    note('took longer than 5 minutes: giving up');
    for (const proc of children) proc.kill('SIGKILL');
    process.exit(1);
  }, 300_000);
  try {
    const worker = child('worker.mjs', { discoveryDir, baseNs });
    await worker.next('ready');
    const server = child('server.mjs', { discoveryDir, baseNs });
    const { url } = await server.next('ready');
    const client = await socket(url);
    note(`interrupt in-process, ${settings.trials} trials`);
    const inProcess = await interruptInProcess(client, server);
    note(`interrupt on the worker process, ${settings.workerTrials} trials`);
    const onWorker = await interruptOnWorker(client, worker);
    note(`cancel of queued requests and submit acks, ${settings.trials} trials`);
    const { cancel, submit_ack } = await cancelQueued(client);
    note(`queue_update to ${settings.sockets} sockets for ${settings.seconds} s`);
    const fan = await fanOut(url, client);
    client.ws.terminate();
    const result = {
      bench: 'queue',
      node: process.version,
      settings,
      interrupt_in_process: inProcess,
      interrupt_on_worker: onWorker,
      cancel_queued: cancel,
      submit_ack,
      queue_update_fan_out: fan,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    clearTimeout(hardStop);
    for (const proc of children) proc.kill('SIGKILL');
    await rm(discoveryDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  note(`failed: ${error.stack ?? error}`);
  for (const proc of children) proc.kill('SIGKILL');
  process.exit(1);
});
