// The worker process: a SimulatedEngine served on a runtime endpoint (TCP, file discovery in
// the benchmark's temp dir). It also keeps what the benchmark needs to know about each phase:
// - when each sequence of an abandoning client ended and how (engine events), on the shared
//   monotonic clock, so that run.mjs can join it with the client's abort time;
// - when each chunk of an abandoning client's request left the engine, so that run.mjs can
//   count the tokens generated after the client aborted;
// - the andon_cancel_to_engine_stop_seconds histogram of a per-phase ServerMetrics.
import { Runtime } from '@andon/runtime';
import { engineHandler, ServerMetrics, SimulatedEngine } from '@andon/server';
import { pino } from 'pino';
import { ABANDON_SUFFIX, clockSince, onCommand, processArgs, report } from './common.mjs';

const { discoveryDir, engine: engineOptions, baseNs } = processArgs();
const now = clockSince(baseNs);

const engine = new SimulatedEngine(engineOptions);

/** Per phase: request id → { end, kind, phase, stopLatencyMs, tokens } (abandoning clients). */
let ends = new Map();
/** Per phase: request id → [t0, tokens0, t1, tokens1, …] (abandoning clients). */
let chunkTimes = new Map();
let metrics;
let observation;
let statsAtPhaseStart = engine.stats();

function startObserving() {
  metrics = new ServerMetrics();
  observation = metrics.observeEngine(engine);
}
startObserving();

engine.on((event) => {
  // Emitted right after the engine released the sequence's slot.
  const t = now();
  if (!event.requestId.endsWith(ABANDON_SUFFIX)) return;
  ends.set(event.requestId, {
    end: t,
    type: event.type,
    kind: event.kind,
    phase: event.phase,
    stopLatencyMs: event.stopLatencyMs,
    tokens: event.tokens,
  });
});

// The engine as the handler sees it, with chunk timestamps for the abandoning clients.
const timed = {
  async generate(request, options) {
    const stream = await engine.generate(request, options);
    const id = options.context.id;
    if (!id.endsWith(ABANDON_SUFFIX)) return stream;
    const times = [];
    chunkTimes.set(id, times);
    return (async function* () {
      for await (const chunk of stream) {
        times.push(now(), chunk.tokens);
        yield chunk;
      }
    })();
  },
};

const rt = await Runtime.start({
  transport: 'tcp',
  host: '127.0.0.1',
  discoveryDir,
  logger: pino({ level: 'error' }, pino.destination(2)),
});
await rt.namespace('bench').component('engine').endpoint('generate').serve(engineHandler(timed));

async function waitIdle(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const { slotsBusy, queueLength } = engine.stats();
    if (slotsBusy === 0 && queueLength === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

onCommand(async (command) => {
  switch (command.type) {
    case 'idle':
      return { idle: await waitIdle(command.timeoutMs) };
    case 'collect': {
      const stats = engine.stats();
      const before = statsAtPhaseStart;
      const cancelled = {};
      for (const [kind, count] of Object.entries(stats.cancelled)) {
        const delta = count - (before.cancelled[kind] ?? 0);
        if (delta > 0) cancelled[kind] = delta;
      }
      const histogram = (await metrics.cancelToEngineStop.get()).values;
      const result = {
        ends: Object.fromEntries(ends),
        chunkTimes: Object.fromEntries(chunkTimes),
        stats: {
          sequencesStarted: stats.sequencesStarted - before.sequencesStarted,
          sequencesFinished: stats.sequencesFinished - before.sequencesFinished,
          sequencesRejected: stats.sequencesRejected - before.sequencesRejected,
          tokensGenerated: stats.tokensGenerated - before.tokensGenerated,
          tokensAfterCancel: stats.tokensAfterCancel - before.tokensAfterCancel,
          cancelled,
          slotsBusy: stats.slotsBusy,
          queueLength: stats.queueLength,
        },
        histogram,
      };
      ends = new Map();
      chunkTimes = new Map();
      statsAtPhaseStart = stats;
      observation.dispose();
      startObserving();
      return result;
    }
    case 'shutdown':
      await rt.shutdown({ graceMs: 200, stopGraceMs: 200 });
      engine.close();
      setImmediate(() => process.exit(0));
      return { ok: true };
    default:
      throw new Error(`worker: unknown command ${command.type}`);
  }
});

report({ type: 'ready' });
