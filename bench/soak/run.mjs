// Soak: a million requests from a caller (the front end's side of the request plane) to a
// worker process over TCP, a third of them cancelled at random points (before the first
// item, by stop, by kill, by leaving the loop). At the end both processes' heaps (after gc)
// and active handles must be where they were after the warm-up, and every handler the
// worker started must have finished. Prints JSON.
//
//   npm run bench:soak                              (1 000 000 requests, at most 15 min)
//   ANDON_SOAK_REQUESTS=100000 npm run bench:soak   (a shorter run)
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Context } from '@andon/context';
import { Runtime } from '@andon/runtime';
import { settledHandles } from './handles.mjs';

if (typeof globalThis.gc !== 'function') {
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const REQUESTS = Number(process.env.ANDON_SOAK_REQUESTS ?? 1_000_000);
const MAX_SECONDS = Number(process.env.ANDON_SOAK_MAX_SECONDS ?? 900);
const IN_FLIGHT = Number(process.env.ANDON_SOAK_IN_FLIGHT ?? 64);
const ITEMS = 8;
const WARMUP = Math.min(10_000, Math.ceil(REQUESTS / 10));

const dir = mkdtempSync(join(tmpdir(), 'andon-soak-'));
const worker = fork(fileURLToPath(new URL('./worker.mjs', import.meta.url)), [], {
  execArgv: ['--expose-gc'],
  env: { ...process.env, SOAK_DIR: dir },
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const replies = [];
let onReply;
worker.on('message', (message) => {
  if (onReply) onReply(message);
  else replies.push(message);
});
const next = () =>
  replies.length > 0
    ? Promise.resolve(replies.shift())
    : new Promise((resolve) => {
        onReply = (message) => {
          onReply = undefined;
          resolve(message);
        };
      });
await next(); // ready

// A credit window smaller than a stream, so the worker waits on the caller and a cancel
// lands while its handler is still running (with the default 128 it would be done).
const rt = await Runtime.start({ transport: 'tcp', discoveryDir: dir, window: 2 });
const client = await rt.namespace('soak').component('worker').endpoint('generate').client();
await client.waitForInstances({ timeoutMs: 10_000 });

let outcomes = {
  completed: 0,
  cancelledBeforeFirstItem: 0,
  stopped: 0,
  killed: 0,
  left: 0,
  errors: 0,
};
let firstError;

/** One request; `fate` 0–2 completes, 3 cancels at a random point in one of four ways. */
async function one() {
  const context = new Context();
  const cancel = Math.random() < 1 / 3;
  const way = Math.floor(Math.random() * 4);
  const at = Math.floor(Math.random() * ITEMS);
  try {
    const stream = await client.generate({ items: ITEMS }, { context });
    if (cancel && way === 0) {
      context.stop();
      for await (const _ of stream);
      outcomes.cancelledBeforeFirstItem++;
      return;
    }
    let seen = 0;
    for await (const _ of stream) {
      seen++;
      if (!cancel || seen !== at + 1) continue;
      if (way === 1) context.stop();
      else if (way === 2) context.kill();
      else break;
    }
    if (!cancel) outcomes.completed++;
    else if (way === 1) outcomes.stopped++;
    else if (way === 2) outcomes.killed++;
    else outcomes.left++;
  } catch (error) {
    outcomes.errors++;
    firstError ??= String(error?.stack ?? error);
  } finally {
    context.dispose();
  }
}

async function run(count, deadline) {
  let issued = 0;
  const lane = async () => {
    while (issued < count && performance.now() < deadline) {
      issued++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return issued;
}

async function measure() {
  // Counted before asking the worker: the IPC exchange itself holds a handle while it runs.
  const handles = await settledHandles();
  worker.send('measure');
  const remote = await next();
  return {
    caller: {
      heapUsedBytes: process.memoryUsage().heapUsed,
      handles,
    },
    worker: remote,
  };
}

await run(WARMUP, Number.POSITIVE_INFINITY);
const warmup = outcomes;
outcomes = { completed: 0, cancelledBeforeFirstItem: 0, stopped: 0, killed: 0, left: 0, errors: 0 };
const before = await measure();
const started = performance.now();
const done = await run(REQUESTS, started + MAX_SECONDS * 1000);
const seconds = (performance.now() - started) / 1000;
const after = await measure();

const mib = (bytes) => Math.round((bytes / 1024 / 1024) * 100) / 100;
const side = (name) => ({
  heapStartMiB: mib(before[name].heapUsedBytes),
  heapEndMiB: mib(after[name].heapUsedBytes),
  heapGrowthKiB: Math.round((after[name].heapUsedBytes - before[name].heapUsedBytes) / 1024),
  handlesStart: before[name].handles,
  handlesEnd: after[name].handles,
});
const cancelled = done - outcomes.completed - outcomes.errors;
console.log(
  JSON.stringify(
    {
      bench: 'soak',
      requests: done,
      requested: REQUESTS,
      finishedInTime: done === REQUESTS,
      seconds: Math.round(seconds * 10) / 10,
      requestsPerSec: Math.round(done / seconds),
      outcomes,
      warmupErrors: warmup.errors,
      cancelledShare: Math.round((cancelled / Math.max(1, done)) * 1000) / 1000,
      caller: side('caller'),
      worker: side('worker'),
      workerHandlersLeftRunning: after.worker.handlersStarted - after.worker.handlersFinished,
      workerCancellations: after.worker.stats.handlerCancellations,
      protocolErrors: after.worker.stats.protocolErrors + rt.stats().protocolErrors,
      ...(firstError === undefined ? {} : { firstError }),
    },
    null,
    2,
  ),
);
worker.send('exit');
await rt.shutdown({ graceMs: 0 });
await new Promise((resolve) => worker.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });
