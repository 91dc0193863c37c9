// Benchmark of @andon/context against Node's own AbortController, side by side in one run.
// Prints JSON. Usage: npm run bench:context  (or: node bench/context/run.mjs [--quick])
// Needs the built package (npm run build) and re-spawns itself with --expose-gc.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

if (typeof globalThis.gc !== 'function') {
  const result = spawnSync(
    process.execPath,
    ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  process.exit(result.status ?? 1);
}

const { Context, shareContext } = await import('@andon/context');

const quick = process.argv.includes('--quick');
const TRIALS = quick ? 3 : 7;
const LOOP_CONTEXT = quick ? 200_000 : 1_000_000;
const LOOP_ABORT = quick ? 5_000 : 20_000;
const LIVE = 100_000;
const CHURN = quick ? 100_000 : 1_000_000;
const LATENCY_TRIALS = quick ? 100 : 300;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ── ns per create + dispose ─────────────────────────────────────────────────────────
function timeIt(iterations, body) {
  const start = process.hrtime.bigint();
  body(iterations);
  return Number(process.hrtime.bigint() - start) / iterations;
}

const loops = {
  childDispose(n) {
    const parent = new Context();
    for (let i = 0; i < n; i++) parent.child().dispose();
    parent.dispose();
  },
  newLinkDispose(n) {
    const parent = new Context();
    for (let i = 0; i < n; i++) {
      const child = new Context();
      parent.linkChild(child);
      child.dispose();
    }
    parent.dispose();
  },
  abortControllerAny(n) {
    const parent = new AbortController();
    let keep;
    for (let i = 0; i < n; i++) {
      const own = new AbortController();
      keep = AbortSignal.any([own.signal, parent.signal]);
    }
    return keep;
  },
};

async function createDispose() {
  // Warm-up, then interleave the three in each trial so that they share the machine's noise.
  loops.childDispose(LOOP_CONTEXT / 10);
  loops.newLinkDispose(LOOP_CONTEXT / 10);
  loops.abortControllerAny(LOOP_ABORT / 10);
  const samples = { childDispose: [], newLinkDispose: [], abortControllerAny: [] };
  // Each measurement starts from a collected heap: AbortSignal.any's garbage is only freed
  // once its finalizers have had an event-loop turn, and would otherwise slow what follows.
  for (let t = 0; t < TRIALS; t++) {
    await settledHeap();
    samples.childDispose.push(timeIt(LOOP_CONTEXT, loops.childDispose));
    await settledHeap();
    samples.newLinkDispose.push(timeIt(LOOP_CONTEXT, loops.newLinkDispose));
    await settledHeap();
    samples.abortControllerAny.push(timeIt(LOOP_ABORT, loops.abortControllerAny));
  }
  const child = median(samples.childDispose);
  const link = median(samples.newLinkDispose);
  const abort = median(samples.abortControllerAny);
  const best = (xs) => round(Math.min(...xs));
  return {
    'parent.child()+dispose() ns': round(child),
    'new Context()+linkChild()+dispose() ns': round(link),
    'new AbortController()+AbortSignal.any([own, parent]) ns': round(abort),
    'AbortController path / child()+dispose()': round(abort / child, 0),
    'AbortController path / new+linkChild+dispose': round(abort / link, 0),
    'best trial ns (child, link, AbortController)': [
      best(samples.childDispose),
      best(samples.newLinkDispose),
      best(samples.abortControllerAny),
    ],
    target: 'context paths <= 60 ns and >= 100x faster',
    met: child <= 60 && link <= 60 && abort / child >= 100 && abort / link >= 100,
    samples: Object.fromEntries(
      Object.entries(samples).map(([k, v]) => [k, v.map((x) => round(x))]),
    ),
  };
}

// ── bytes retained per live object ──────────────────────────────────────────────────
function retained(make) {
  const live = new Array(LIVE).fill(undefined);
  const before = heap();
  for (let i = 0; i < LIVE; i++) live[i] = make();
  const after = heap();
  const bytes = (after - before) / LIVE;
  live.fill(undefined);
  return bytes;
}

function retainedBytes() {
  const makers = {
    'parent.child() (linked)': (parent) => () => parent.child(),
    'new Context() + linkChild (linked)': (parent) => () => {
      const c = new Context();
      parent.linkChild(c);
      return c;
    },
    'new AbortController() + .signal': () => () => {
      const c = new AbortController();
      void c.signal;
      return c;
    },
    'new AbortController() + AbortSignal.any([own, parent]) (linked)': (_, parentSignal) => () => {
      const c = new AbortController();
      return [c, AbortSignal.any([c.signal, parentSignal])];
    },
  };
  const samples = Object.fromEntries(Object.keys(makers).map((k) => [k, []]));
  for (let t = 0; t < Math.min(TRIALS, 5); t++) {
    for (const [name, maker] of Object.entries(makers)) {
      const parent = new Context();
      const parentController = new AbortController();
      samples[name].push(retained(maker(parent, parentController.signal)));
      parent.dispose();
    }
  }
  const result = Object.fromEntries(
    Object.entries(samples).map(([k, v]) => [k, round(median(v), 0)]),
  );
  const worst = Math.max(
    result['parent.child() (linked)'],
    result['new Context() + linkChild (linked)'],
  );
  return {
    ...result,
    live: LIVE,
    target: '<= 200 bytes per live linked context',
    met: worst <= 200,
  };
}

// ── heap kept after churning children under one long-lived parent ──────────────────
// Heap after gc, once pending finalization callbacks (AbortSignal.any's weak-ref cleanup)
// have had their turn.
async function settledHeap() {
  heap();
  await sleep(10);
  return heap();
}

async function churn() {
  const parent = new Context();
  // Warm up first, so that compiled code and feedback are not counted as growth.
  for (let i = 0; i < 100_000; i++) parent.child().dispose();
  const before = await settledHeap();
  for (let i = 0; i < CHURN; i++) parent.child().dispose();
  const contextNow = heap() - before;
  const contextSettled = (await settledHeap()) - before;

  const parentController = new AbortController();
  for (let i = 0; i < 1_000; i++) AbortSignal.any([parentController.signal]);
  const beforeAny = await settledHeap();
  for (let i = 0; i < CHURN; i++) AbortSignal.any([parentController.signal]);
  const anyNow = heap() - beforeAny;
  const anySettled = (await settledHeap()) - beforeAny;
  const perChild = (bytes) => round(bytes / CHURN, 2);
  const result = {
    children: CHURN,
    'Context: bytes per child kept, gc right after the loop': perChild(contextNow),
    'Context: bytes per child kept, gc after finalizers ran': perChild(contextSettled),
    'AbortSignal.any: bytes per child kept, gc right after the loop': perChild(anyNow),
    'AbortSignal.any: bytes per child kept, gc after finalizers ran': perChild(anySettled),
    target: 'no growth (under 1 byte per child)',
    met: Math.max(contextNow, contextSettled) / CHURN < 1,
  };
  parent.dispose();
  return result;
}

// ── stop latency, main thread → worker ─────────────────────────────────────────────
async function latency() {
  const worker = new Worker(new URL('./latency-worker.mjs', import.meta.url));
  const inbox = [];
  let wake;
  worker.on('message', (m) => {
    inbox.push(m);
    wake?.();
  });
  const next = async () => {
    while (inbox.length === 0) await new Promise((resolve) => (wake = resolve));
    return inbox.shift();
  };
  const shared = [];
  const posted = [];
  for (let t = 0; t < LATENCY_TRIALS; t++) {
    const ctx = new Context();
    const handle = shareContext(ctx);
    worker.postMessage({ kind: 'shared', buffer: handle.buffer });
    await next(); // ready
    await sleep(1); // let the worker park in its wait
    const start = process.hrtime.bigint();
    ctx.stop();
    const seen = await next();
    shared.push(Number(seen.at - start) / 1_000);
    ctx.dispose();

    await sleep(1);
    const pingStart = process.hrtime.bigint();
    worker.postMessage({ kind: 'ping' });
    const pong = await next();
    posted.push(Number(pong.at - pingStart) / 1_000);
  }
  await worker.terminate();
  const warm = (xs) => xs.slice(Math.min(10, xs.length >> 2));
  return {
    trials: LATENCY_TRIALS,
    'shared context stop -> worker stopped() p50 us': round(percentile(warm(shared), 50)),
    'shared context stop -> worker stopped() p99 us': round(percentile(warm(shared), 99)),
    'baseline postMessage -> worker message p50 us': round(percentile(warm(posted), 50)),
    'baseline postMessage -> worker message p99 us': round(percentile(warm(posted), 99)),
    target: 'under 50 ms (50000 us)',
    met: percentile(warm(shared), 99) < 50_000,
  };
}

// The whole run takes a minute or two and the report comes at the end: say what runs now,
// on stderr (stdout carries only the JSON).
let step = 0;
async function measure(what, run) {
  process.stderr.write(`bench:context: ${++step}/4 ${what}…\n`);
  return run();
}

const report = {
  node: process.version,
  cpus: (await import('node:os')).cpus().length,
  trials: TRIALS,
  note: 'medians over trials; AbortController figures measured in the same run',
  createDispose: await measure(`create + dispose, ${TRIALS} trials`, createDispose),
  retainedBytesPerLiveContext: await measure('bytes kept per live context', retainedBytes),
  heapAfterChurn: await measure(`heap after ${CHURN} children`, churn),
  workerStopLatency: await measure(
    `stop latency to a worker thread, ${LATENCY_TRIALS} trials`,
    latency,
  ),
};
console.log(JSON.stringify(report, null, 2));
