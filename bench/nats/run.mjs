// `npm run bench:nats`: 3-tier cancel latency and request/reply throughput over NATS,
// every configuration side by side in one run, interleaved in shuffled blocks of 25 trials
// so that they share the machine's noise (see ../../../shared/BASELINES.md).
// Configurations: raw-nats (the baseline). andon-over-NATS and andon-over-TCP join this
// list once the runtime's NATS transport exists; each is an object with
// { name, cancelTrial(), throughput(opts), close() } like raw-nats/config.mjs.
// Usage: node bench/nats/run.mjs [--trials 500] [--warmup 50] [--inflight 100] [--duration 3000]
import { parseArgs } from 'node:util';
import { startNatsServer } from './lib/nats-server.mjs';
import { mean, shuffle, summarize } from './lib/stats.mjs';
import { createRawNats } from './raw-nats/config.mjs';

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
const BLOCK = 25;

const server = await startNatsServer();
const configs = [];
try {
  configs.push(await createRawNats({ natsUrl: server.url }));
  const results = new Map(configs.map((c) => [c.name, { latencies: [], after: [] }]));
  for (const c of configs) for (let i = 0; i < warmup; i++) await c.cancelTrial();
  const blocks = [];
  for (const c of configs)
    for (let n = 0; n < trials; n += BLOCK) blocks.push([c, Math.min(BLOCK, trials - n)]);
  for (const [c, n] of shuffle(blocks)) {
    for (let i = 0; i < n; i++) {
      const r = await c.cancelTrial();
      results.get(c.name).latencies.push(r.latencyUs);
      results.get(c.name).after.push(r.itemsAfterStop);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
  const base = summarize(results.get('raw-nats').latencies);
  const out = { benchmark: 'nats', node: process.version, trials, warmup, configurations: {} };
  for (const c of configs) {
    const r = results.get(c.name);
    const latency = summarize(r.latencies);
    const tp = await c.throughput({
      inFlight: Number(values.inflight),
      durationMs: Number(values.duration),
    });
    out.configurations[c.name] = {
      cancelLatencyUs: latency,
      ratioToRawNatsP50: Math.round((latency.p50 / base.p50) * 100) / 100,
      itemsAfterStopPerCancel: Math.round(mean(r.after) * 1000) / 1000,
      requestReply: {
        inFlight: Number(values.inflight),
        requestsPerSecond: Math.round(tp.requests / tp.seconds),
        latencyUs: summarize(tp.latenciesUs),
      },
    };
  }
  console.log(JSON.stringify(out, null, 2));
} finally {
  for (const c of configs) await c.close();
  await server.stop();
}
