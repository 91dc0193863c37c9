// Goodput under churn: an OpenAI front end in front of a simulated LLM engine, with half of
// the clients abandoning their stream after a few tokens, once with cancellation propagating
// to the worker ("on") and once with the front end's runtime only detaching ("off",
// `propagateCancellation: false`). Prints one JSON document on stdout (progress on stderr).
//
//   npm run bench:server          (builds first)   or   node bench/server/run.mjs
//
// Processes (all on 127.0.0.1, forked with an IPC channel, discovery in a fresh temp dir):
//   worker.mjs    SimulatedEngine served on a runtime endpoint over TCP
//   frontend.mjs  two OpenAIServers, each with a runtime client to the worker: on and off
//   client.mjs    the load: M closed-loop streaming clients over HTTP
// Phases alternate between the modes (on/off, then off/on, …) against the same worker, with
// the worker drained in between, so that both modes share the machine's noise.
//
// Environment (defaults take about 2 minutes on a 2-core machine):
//   ANDON_BENCH_SERVER_CLIENTS        concurrent clients, half of them abandon (32)
//   ANDON_BENCH_SERVER_SLOTS          engine slots (8)
//   ANDON_BENCH_SERVER_TOKEN_MS       engine time per token, ms (5)
//   ANDON_BENCH_SERVER_MAX_TOKENS     max_tokens of every request (128)
//   ANDON_BENCH_SERVER_ABANDON_AFTER  content chunks an abandoning client reads (4)
//   ANDON_BENCH_SERVER_DURATION_S     seconds each phase issues requests (12)
//   ANDON_BENCH_SERVER_WARMUP_S       first seconds of each phase left out of the figures (2)
//   ANDON_BENCH_SERVER_ROUNDS         rounds; a round is one phase per mode (3)
//   ANDON_BENCH_SERVER_WARMUP_PHASE_S a discarded phase per mode before the rounds (3; 0: none)
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

function numberFromEnv(name, fallback, { min = 0, integer = true } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value)))
    throw new TypeError(`${name} must be a ${integer ? 'whole ' : ''}number >= ${min}, got ${raw}`);
  return value;
}

const settings = {
  clients: numberFromEnv('ANDON_BENCH_SERVER_CLIENTS', 32, { min: 2 }),
  slots: numberFromEnv('ANDON_BENCH_SERVER_SLOTS', 8, { min: 1 }),
  tokenMs: numberFromEnv('ANDON_BENCH_SERVER_TOKEN_MS', 5, { integer: false }),
  prefillBaseMs: 2,
  prefillMsPerToken: 0.05,
  maxTokens: numberFromEnv('ANDON_BENCH_SERVER_MAX_TOKENS', 128, { min: 2 }),
  abandonAfter: numberFromEnv('ANDON_BENCH_SERVER_ABANDON_AFTER', 4, { min: 1 }),
  durationS: numberFromEnv('ANDON_BENCH_SERVER_DURATION_S', 12, { min: 0.5, integer: false }),
  warmupS: numberFromEnv('ANDON_BENCH_SERVER_WARMUP_S', 2, { integer: false }),
  rounds: numberFromEnv('ANDON_BENCH_SERVER_ROUNDS', 3, { min: 1 }),
  warmupPhaseS: numberFromEnv('ANDON_BENCH_SERVER_WARMUP_PHASE_S', 3, { integer: false }),
};
if (settings.warmupS >= settings.durationS)
  throw new TypeError('ANDON_BENCH_SERVER_WARMUP_S must be below ANDON_BENCH_SERVER_DURATION_S');
if (settings.abandonAfter >= settings.maxTokens)
  throw new TypeError('ANDON_BENCH_SERVER_ABANDON_AFTER must be below MAX_TOKENS');

// Time bounds: a phase issues for durationS, then drains for at most DRAIN_CAP_MS; the worker
// then gets IDLE_CAP_MS to finish what detached requests left behind.
const DRAIN_CAP_MS = 20_000;
const IDLE_CAP_MS = 30_000;
const phaseCount = settings.rounds * 2 + (settings.warmupPhaseS > 0 ? 2 : 0);
const budgetMs =
  30_000 + phaseCount * (settings.durationS * 1000 + DRAIN_CAP_MS + IDLE_CAP_MS + 5_000);

const log = (line) => process.stderr.write(`[bench:server] ${line}\n`);

// ── processes and cleanup ─────────────────────────────────────────────────────────────

const tempDir = mkdtempSync(join(tmpdir(), 'andon-bench-server-'));
const baseNs = String(process.hrtime.bigint());
const children = new Set();

function cleanUpNow() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  rmSync(tempDir, { recursive: true, force: true });
}
process.on('exit', cleanUpNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    log(`${signal}: stopping`);
    cleanUpNow();
    process.exit(130);
  });
}
const overall = setTimeout(() => {
  log(`did not finish within ${Math.round(budgetMs / 1000)} s: giving up`);
  cleanUpNow();
  process.exit(1);
}, budgetMs);
overall.unref();

function spawn(script, args) {
  const child = fork(join(here, script), [JSON.stringify({ ...args, baseNs })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ANDON_DISCOVERY_DIR: tempDir },
  });
  children.add(child);
  let seq = 0;
  const pending = new Map();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const failAll = (error) => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  child.on('exit', (code, signal) => {
    children.delete(child);
    failAll(new Error(`${script} exited (code ${code}, signal ${signal})`));
  });
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before ready`)));
    child.on('message', (message) => {
      if (message.type === 'ready') resolve(message);
      else if (message.type === 'reply') {
        const waiter = pending.get(message.seq);
        pending.delete(message.seq);
        if (message.error) waiter?.reject(new Error(`${script}: ${message.error}`));
        else waiter?.resolve(message.result);
      }
    });
  });
  return {
    ready,
    call(command) {
      return new Promise((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve, reject });
        child.send({ ...command, seq: id });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      this.call({ type: 'shutdown' }).catch(() => {});
      await exited;
      clearTimeout(timer);
    },
  };
}

// ── statistics ─────────────────────────────────────────────────────────────────────────

function quantile(values, q) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
const median = (values) => quantile(values, 0.5);
const round = (value, digits = 3) =>
  value === null || value === undefined ? null : Number(value.toFixed(digits));
const summary = (values, digits = 3) => ({
  n: values.length,
  p50: round(quantile(values, 0.5), digits),
  p99: round(quantile(values, 0.99), digits),
  max: round(quantile(values, 1), digits),
});

// One phase's figures, from the client's records and the worker's. Times are µs on the
// shared monotonic clock; the window is [start + warm-up, start + duration).
function analysePhase(mode, client, worker) {
  const windowStart = client.start + settings.warmupS * 1e6;
  const windowEnd = client.stopIssuingAt;
  const windowS = (windowEnd - windowStart) / 1e6;
  const inWindow = (t) => t !== undefined && t >= windowStart && t < windowEnd;
  const records = client.records;
  const stayers = records.filter((r) => !r.abandons);
  const completed = stayers.filter((r) => r.outcome === 'completed' && inWindow(r.end));
  const ttftMs = stayers
    .filter((r) => inWindow(r.t0) && r.ttft !== undefined)
    .map((r) => r.ttft / 1000);
  const abandoned = records.filter((r) => r.outcome === 'abandoned' && inWindow(r.abortAt));

  const toSlotFreedMs = [];
  const engineStopMs = [];
  let tokensAfterAbort = 0;
  let unmatched = 0;
  for (const r of abandoned) {
    const end = worker.ends[r.id];
    if (end === undefined) {
      unmatched++;
      continue;
    }
    toSlotFreedMs.push((end.end - r.abortAt) / 1000);
    if (end.type === 'cancelled') engineStopMs.push(end.stopLatencyMs);
    const times = worker.chunkTimes[r.id] ?? [];
    for (let i = 0; i < times.length; i += 2)
      if (times[i] > r.abortAt) tokensAfterAbort += times[i + 1];
  }
  const outcomes = {};
  const errors = {};
  for (const r of records) {
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    if (r.outcome === 'error') errors[r.detail] = (errors[r.detail] ?? 0) + 1;
  }
  const buckets = worker.histogram.filter((v) => v.metricName.endsWith('_bucket'));
  const count = worker.histogram.find((v) => v.metricName.endsWith('_count'))?.value ?? 0;
  const within5ms = buckets.find((v) => v.labels.le === 0.005)?.value ?? 0;
  return {
    mode,
    windowS: round(windowS),
    completed: completed.length,
    goodputPerS: round(completed.length / windowS),
    ttftMs,
    abandonedInWindow: abandoned.length,
    toSlotFreedMs,
    engineStopMs,
    tokensAfterAbort,
    unmatchedAbandons: unmatched,
    histogram: { count, within5ms },
    outcomes,
    errors,
    engine: worker.stats,
  };
}

// ── the run ────────────────────────────────────────────────────────────────────────────

const started = Date.now();
let worker;
let frontend;
let client;
let exitCode = 0;
try {
  log(`temp dir ${tempDir}; starting worker, front ends and clients`);
  worker = spawn('worker.mjs', {
    discoveryDir: tempDir,
    engine: {
      slots: settings.slots,
      maxQueue: Math.max(64, settings.clients * 2),
      tokenMs: settings.tokenMs,
      prefillBaseMs: settings.prefillBaseMs,
      prefillMsPerToken: settings.prefillMsPerToken,
      // Every request runs to max_tokens unless it is cancelled.
      naturalLength: { min: settings.maxTokens + 1, max: settings.maxTokens + 1 },
    },
  });
  await worker.ready;
  frontend = spawn('frontend.mjs', { discoveryDir: tempDir });
  const { urls } = await frontend.ready;
  client = spawn('client.mjs', {});
  await client.ready;

  const runOne = async (mode, tag, durationS) => {
    const result = await client.call({
      type: 'phase',
      url: urls[mode],
      tag,
      clients: settings.clients,
      durationMs: durationS * 1000,
      drainCapMs: DRAIN_CAP_MS,
      abandonAfter: settings.abandonAfter,
      maxTokens: settings.maxTokens,
    });
    const { idle } = await worker.call({ type: 'idle', timeoutMs: IDLE_CAP_MS });
    if (!idle) throw new Error(`the worker was still busy ${IDLE_CAP_MS} ms after phase ${tag}`);
    return { client: result, worker: await worker.call({ type: 'collect' }) };
  };

  if (settings.warmupPhaseS > 0) {
    for (const mode of ['on', 'off']) {
      log(`warm-up phase, propagation ${mode}`);
      await runOne(mode, `warm-${mode}`, settings.warmupPhaseS);
    }
  }
  const phases = [];
  for (let r = 0; r < settings.rounds; r++) {
    const order = r % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    for (const mode of order) {
      const raw = await runOne(mode, `r${r}-${mode}`, settings.durationS);
      const phase = { round: r, ...analysePhase(mode, raw.client, raw.worker) };
      phases.push(phase);
      log(
        `round ${r} ${mode}: goodput ${phase.goodputPerS}/s, ttft p50 ${round(median(phase.ttftMs), 1)} ms, ` +
          `abort→slot freed p50 ${round(median(phase.toSlotFreedMs), 2)} ms, ` +
          `tokens after abort ${phase.tokensAfterAbort}`,
      );
    }
  }

  const modes = {};
  for (const mode of ['on', 'off']) {
    const mine = phases.filter((p) => p.mode === mode);
    const all = (key) => mine.flatMap((p) => p[key]);
    const sum = (key) => mine.reduce((total, p) => total + p[key], 0);
    const abandons = sum('abandonedInWindow');
    const tokensAfter = sum('tokensAfterAbort');
    const engineTotals = {};
    for (const p of mine) {
      for (const key of ['tokensGenerated', 'tokensAfterCancel', 'sequencesRejected']) {
        engineTotals[key] = (engineTotals[key] ?? 0) + p.engine[key];
      }
    }
    const histogramCount = mine.reduce((t, p) => t + p.histogram.count, 0);
    const histogramWithin5 = mine.reduce((t, p) => t + p.histogram.within5ms, 0);
    modes[mode] = {
      goodputPerS: {
        pooled: round(sum('completed') / sum('windowS')),
        perRound: mine.map((p) => p.goodputPerS),
      },
      completed: sum('completed'),
      ttftMs: summary(all('ttftMs'), 1),
      abandoned: abandons,
      abortToSlotFreedMs: summary(all('toSlotFreedMs')),
      engineCancelToStopMs: summary(all('engineStopMs')),
      histogramCancelToEngineStop: {
        count: histogramCount,
        fractionWithin5ms: histogramCount ? round(histogramWithin5 / histogramCount) : null,
      },
      tokensAfterAbort: {
        total: tokensAfter,
        perAbandonedRequest: round(abandons ? tokensAfter / abandons : 0, 2),
      },
      engine: engineTotals,
      unmatchedAbandons: sum('unmatchedAbandons'),
      outcomes: mine.map((p) => p.outcomes),
      errors: mine.map((p) => p.errors),
    };
  }
  const ratios = [];
  for (let r = 0; r < settings.rounds; r++) {
    const on = phases.find((p) => p.round === r && p.mode === 'on');
    const off = phases.find((p) => p.round === r && p.mode === 'off');
    if (on && off && off.goodputPerS > 0) ratios.push(on.goodputPerS / off.goodputPerS);
  }
  const document = {
    benchmark: 'server',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, platform: process.platform },
    settings,
    measures: {
      goodputPerS:
        'requests of reading clients that ended with [DONE] inside the measured window, per second',
      ttftMs:
        'reading clients: request sent → first content chunk received (requests sent inside the window)',
      abortToSlotFreedMs:
        "abandoning clients: the client's req.destroy() (its socket closes) → the worker's engine released the sequence's slot; one monotonic clock across processes. With propagation off the slot is freed only when the detached request ends",
      engineCancelToStopMs:
        "the worker engine's own stop latency, the value andon_cancel_to_engine_stop_seconds observes: the front end's disconnect reason `at` (res 'close') → slot released, epoch-ms clocks of two processes",
      tokensAfterAbort:
        "tokens of abandoned requests that left the worker's engine after the client's abort (chunk timestamps at the engine, shared monotonic clock)",
      engine:
        "worker engine counters summed over the phases; tokensAfterCancel is the engine's own count, tokens made for a context already stopped: always 0 without propagation, since the worker never learns of the stop",
      ratio:
        'goodput(on) / goodput(off), per round (the two phases of a round ran back to back); median reported',
    },
    on: modes.on,
    off: modes.off,
    ratio: {
      median: round(median(ratios)),
      perRound: ratios.map((r) => round(r)),
      pooled: round(modes.on.goodputPerS.pooled / modes.off.goodputPerS.pooled),
    },
    targets: {
      ratioAtLeast1_8: median(ratios) >= 1.8,
      abortToSlotFreedP99Under5ms: (modes.on.abortToSlotFreedMs.p99 ?? Infinity) < 5,
    },
    seconds: Math.round((Date.now() - started) / 1000),
  };
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
} catch (error) {
  log(`failed: ${error?.stack ?? error}`);
  exitCode = 1;
} finally {
  await Promise.all([client?.stop(), frontend?.stop(), worker?.stop()].filter(Boolean));
  cleanUpNow();
  clearTimeout(overall);
}
process.exitCode = exitCode;
