// Raw NATS baseline, standalone: 3 tiers (this process as client, nats-server, backend
// process). Prints JSON. Usage: node bench/nats/raw-nats/run.mjs [--trials 500]
// [--warmup 50] [--inflight 100] [--duration 3000]
import { parseArgs } from 'node:util';
import { startNatsServer } from '../lib/nats-server.mjs';
import { mean, summarize } from '../lib/stats.mjs';
import { createRawNats } from './config.mjs';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '500' },
    warmup: { type: 'string', default: '50' },
    inflight: { type: 'string', default: '100' },
    duration: { type: 'string', default: '3000' },
  },
});
const trials = Number(values.trials);
const warmup = Number(values.warmup);

const server = await startNatsServer();
let cfg;
try {
  cfg = await createRawNats({ natsUrl: server.url });
  for (let i = 0; i < warmup; i++) await cfg.cancelTrial();
  const latencies = [];
  const after = [];
  for (let i = 0; i < trials; i++) {
    const r = await cfg.cancelTrial();
    latencies.push(r.latencyUs);
    after.push(r.itemsAfterStop);
    await new Promise((r) => setTimeout(r, 2)); // let the backend settle between trials
  }
  const tp = await cfg.throughput({
    inFlight: Number(values.inflight),
    durationMs: Number(values.duration),
  });
  console.log(
    JSON.stringify(
      {
        benchmark: 'nats-raw-baseline',
        node: process.version,
        tiers: 'client process → nats-server → backend process',
        cancel: {
          trials,
          warmup,
          latencyUs: summarize(latencies),
          itemsAfterStopPerCancel: Math.round(mean(after) * 1000) / 1000,
        },
        requestReply: {
          inFlight: Number(values.inflight),
          payloadBytes: 32,
          requestsPerSecond: Math.round(tp.requests / tp.seconds),
          latencyUs: summarize(tp.latenciesUs),
        },
      },
      null,
      2,
    ),
  );
} finally {
  await cfg?.close();
  await server.stop();
}
