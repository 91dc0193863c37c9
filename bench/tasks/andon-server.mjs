// The server under test: andon's task SSE face (SQLite store), driven over IPC by run.mjs.
//   → { type: 'ready', url }           once it listens
//   { type: 'go', rate, seconds }      the waiting bench/Tick tasks start emitting
//   { type: 'rss' }                    → { type: 'rss', rss }
//   { type: 'cancel', id }             → { type: 'cancel', t0Us }: tasks.cancelTask in this
//                                      process, t0Us stamped just before it (the in-process
//                                      variant of POST …/cancel, without the HTTP round trip)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '@andon/context';
import { createEmbeddedServer } from '@andon/server';
import { TaskManager } from '@andon/tasks';
import { SqliteStore } from '@andon/tasks/sqlite';
import { pino } from 'pino';
import { nowUs } from './sse-client.mjs';

const dir = mkdtempSync(join(tmpdir(), 'andon-bench-tasks-'));
const tasks = await TaskManager.open({
  store: new SqliteStore({ path: join(dir, 'tasks.db') }),
  watchBufferSize: 4096,
});
let go;
const started = new Promise((resolve) => {
  go = resolve;
});
// Once told to go, emits `rate` events a second for `seconds`, in 10 ms batches, each
// stamped with its time.
tasks.define('bench', 'Tick', async (_input, ctx, task) => {
  // A first event, so each watcher can tell it is connected before the clock starts.
  await task.emit('progress', { ready: true });
  const { rate, seconds } = await started;
  const perBatch = Math.max(1, Math.round(rate / 100));
  const batches = Math.round((seconds * rate) / perBatch);
  const t0 = performance.now();
  for (let b = 0; b < batches && !ctx.isStopped(); b++) {
    for (let i = 0; i < perBatch; i++) void task.emit('progress', { sentAtUs: nowUs(), i });
    const due = t0 + ((b + 1) * 1000 * perBatch) / rate;
    await sleep(Math.max(0, due - performance.now()), ctx);
  }
  return 'done';
});
// Says it started, then waits to be cancelled.
tasks.define('bench', 'Gate', async function* (_input, ctx) {
  yield { started: true };
  await ctx.stopped();
});
const app = createEmbeddedServer({ tasks, logger: pino({ level: 'silent' }), heartbeatMs: 0 });
const url = await app.listen();
process.on('message', async (message) => {
  if (message.type === 'go') go({ rate: message.rate, seconds: message.seconds });
  else if (message.type === 'rss') process.send({ type: 'rss', rss: process.memoryUsage().rss });
  else if (message.type === 'cancel') {
    const t0Us = nowUs();
    await tasks.cancelTask('bench', 'Gate', message.id, { reason: 'bench' });
    process.send({ type: 'cancel', t0Us });
  } else if (message.type === 'exit') {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
});
// run.mjs gone (killed by a signal, crashed): do not outlive it.
process.on('disconnect', () => {
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
process.send({ type: 'ready', url });
