// `npm run bench:chat`: what `andon chat` promises, measured. Prints one JSON document.
//
// 1. key press → request cancelled on the engine: the chat's stop is an abort of the SDK
//    stream; measured from just before abort() to the engine releasing the slot, through the
//    embedded server and through one worker process behind the front end (the topology of
//    `andon serve --workers 1`, built from the same library parts).
// 2. pause: tokens the engine decodes during a 2-second pause (bound: maxUnreadTokens, + the
//    credit window through a worker), and the time from resume to the next token.
// 3. cross-thread cancel → awaiting code resumes, against a postMessage baseline.
//
// Everything on 127.0.0.1; the worker process is killed on every way out. Bounded: about
// 30 s. ANDON_BENCH_CHAT_TRIALS (default 100) sets the cancel trials per mode.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Context, isCancelledError, shareContext, sleep } from '@andon/context';
import { Runtime } from '@andon/runtime';
import { createEmbeddedServer, OpenAIServer } from '@andon/server';
import OpenAI from 'openai';
import { pino } from 'pino';

const TRIALS = Number(process.env.ANDON_BENCH_CHAT_TRIALS ?? 100);
const PAUSES = 3;
const THREAD_TRIALS = 500;
const engineOptions = {
  slots: 4,
  tokenMs: 20,
  prefillBaseMs: 1,
  naturalLength: { min: 100_000, max: 100_000 },
};
const silent = pino({ level: 'silent' });
const messages = [{ role: 'user', content: 'Tell me about cancellation.' }];
const now = () => process.hrtime.bigint();
const ms = (ns) => Number(ns) / 1e6;
const round = (x) => Math.round(x * 1000) / 1000;
function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(s.at(-1)) };
}
const log = (line) => process.stderr.write(`bench:chat: ${line}\n`);

/** A front end on 127.0.0.1 and the hooks the bench needs into its engine. */
async function embedded() {
  const app = createEmbeddedServer({ logger: silent, engine: engineOptions, heartbeatMs: 0 });
  const url = await app.listen();
  let onCancel;
  app.engine.on((event) => event.type === 'cancelled' && onCancel?.(now()));
  return {
    url,
    cancelled: () => new Promise((resolve) => (onCancel = resolve)),
    tokens: async () => app.engine.stats().tokensGenerated,
    close: () => app.close(),
  };
}

async function withWorker() {
  const dir = mkdtempSync(join(tmpdir(), 'andon-bench-chat-'));
  const child = fork(new URL('./worker.mjs', import.meta.url), [
    JSON.stringify({ dir, engine: engineOptions }),
  ]);
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const waiters = new Map();
  child.on('message', (m) => waiters.get(m.kind)?.(m));
  const next = (kind) => new Promise((resolve) => waiters.set(kind, resolve));
  await next('ready');
  const rt = await Runtime.start({
    transport: 'tcp',
    host: '127.0.0.1',
    discoveryDir: dir,
    logger: silent,
  });
  const client = await rt.namespace('andon').component('engine').endpoint('generate').client();
  await client.waitForInstances();
  const server = new OpenAIServer({ backend: client, logger: silent, heartbeatMs: 0 });
  const url = await server.listen();
  return {
    url,
    cancelled: async () => BigInt((await next('cancelled')).at),
    tokens: async () => {
      const stats = next('stats');
      child.send({ kind: 'stats' });
      return (await stats).stats.tokensGenerated;
    },
    async close() {
      await server.close();
      await rt.shutdown({ graceMs: 0 });
      child.disconnect();
      await new Promise((resolve) => child.once('exit', resolve));
      process.off('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function openStream(url, id) {
  const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const stream = await openai.chat.completions.create(
    { model: 'andon-sim', stream: true, max_tokens: 4000, messages },
    { headers: { 'x-request-id': id } },
  );
  return { stream, iterator: stream[Symbol.asyncIterator]() };
}

async function keyToCancel(tier) {
  const samples = [];
  for (let i = 0; i < TRIALS; i++) {
    const { stream, iterator } = await openStream(tier.url, `cancel-${i}`);
    for (let k = 0; k < 3; k++) await iterator.next();
    const cancelled = tier.cancelled();
    const pressed = now(); // what the chat does on `s`: abort the SDK stream
    stream.controller.abort();
    samples.push(ms((await cancelled) - pressed));
  }
  return summary(samples);
}

async function pause(tier) {
  const decoded = [];
  const resumeToToken = [];
  const control = (id, action) =>
    fetch(`${tier.url}/v1/requests/${id}/${action}`, { method: 'POST' });
  for (let i = 0; i < PAUSES; i++) {
    const id = `pause-${i}`;
    const { stream, iterator } = await openStream(tier.url, id);
    for (let k = 0; k < 5; k++) await iterator.next();
    await control(id, 'pause');
    const before = await tier.tokens();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    decoded.push((await tier.tokens()) - before);
    const resumed = now();
    await control(id, 'resume');
    await iterator.next();
    resumeToToken.push(ms(now() - resumed));
    const cancelled = tier.cancelled();
    stream.controller.abort();
    await cancelled;
  }
  return { tokensDecodedDuring2sPause: decoded, resumeToNextTokenMs: resumeToToken.map(round) };
}

async function crossThread() {
  const worker = new Worker(new URL('./thread-wake-worker.mjs', import.meta.url));
  const andon = [];
  const baseline = [];
  try {
    for (let i = 0; i < THREAD_TRIALS; i++) {
      const delayMs = 1 + (i % 3);
      const stamps = new SharedArrayBuffer(8);
      const ctx = new Context();
      const shared = shareContext(ctx);
      worker.postMessage({ kind: 'andon', buffer: shared.buffer, stamps, delayMs });
      try {
        await sleep(3_600_000, ctx);
      } catch (error) {
        if (!isCancelledError(error)) throw error;
        andon.push(ms(now() - Atomics.load(new BigInt64Array(stamps), 0)));
      }
      shared.dispose();
      ctx.dispose();
      const stamps2 = new SharedArrayBuffer(8);
      const woke = new Promise((resolve) => worker.once('message', () => resolve(now())));
      worker.postMessage({ kind: 'baseline', stamps: stamps2, delayMs });
      baseline.push(ms((await woke) - Atomics.load(new BigInt64Array(stamps2), 0)));
    }
  } finally {
    await worker.terminate();
  }
  return { andonSharedContext: summary(andon), postMessageBaseline: summary(baseline) };
}

const result = {
  settings: {
    trials: TRIALS,
    pauses: PAUSES,
    threadTrials: THREAD_TRIALS,
    engine: engineOptions,
    maxUnreadTokens: 32,
    frontEndWindow: 8,
  },
};
for (const [name, start] of [
  ['embedded', embedded],
  ['workers1', withWorker],
]) {
  log(`${name}: key press → engine cancelled, ${TRIALS} trials`);
  const tier = await start();
  try {
    result[name] = { keyPressToEngineCancelledMs: await keyToCancel(tier) };
    log(`${name}: ${PAUSES} pauses of 2 s`);
    result[name].pause = await pause(tier);
  } finally {
    await tier.close();
  }
}
log(`cross-thread cancel → awaiting code resumes, ${THREAD_TRIALS} trials`);
result.crossThreadWakeMs = await crossThread();
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
