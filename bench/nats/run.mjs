// `npm run bench:nats`: the NATS benchmark. Every configuration runs side by side through
// the runtime harness (../runtime/harness.mjs: one process per tier, cancel trials
// interleaved in shuffled blocks), against one nats-server started here. Prints one JSON
// document on stdout, progress on stderr.
//
//   node bench/nats/run.mjs
//
// Configurations: raw-nats (the baseline of bench/BASELINES.md: nats-server as the middle, 3
// processes), raw-nats-relay (a relay process as the middle: client → nats → relay → nats
// → server, the like-for-like baseline for andon's 3-tier route, whose middle is a process
// too), raw-tcp (the floor of bench/runtime), andon-nats (andon's runtime over its NATS
// transport and NATS discovery, ./andon-nats) and andon-tcp (../runtime/andon). Ratios are
// reported against raw-nats (p50VsRawNats), raw-nats-relay (p50VsRawNatsRelay) and raw-tcp;
// `andonVsRawNats` sums up the comparisons for andon-nats.
// Request/response throughput with 100 in flight runs after the harness: raw NATS
// request/reply, then andon calls (REQUEST, one DATA, END) over NATS and over TCP.
//
// Environment: the harness's ANDON_BENCH_TRIALS, _WARMUP, _BLOCK, _ROUTES, _TP_ITEMS,
// _TP_STREAMS, _TP_STREAM_ITEMS, _TP_RUNS (see bench/runtime/run.mjs), plus
//   ANDON_BENCH_RR_INFLIGHT   requests in flight for request/reply (100)
//   ANDON_BENCH_RR_MS         request/reply duration in ms (3000; 0 skips request/reply)
//   ANDON_BENCH_CONFIGS       comma-separated configurations to run (all)
import { cpus } from 'node:os';
import andonTcp from '../runtime/andon/config.mjs';
import { harnessSettings, intFromEnv, selectConfigs } from '../runtime/env.mjs';
import { runBenchmark } from '../runtime/harness.mjs';
import rawTcp from '../runtime/raw-tcp/config.mjs';
import andonNats from './andon-nats/config.mjs';
import { andonRequestReply } from './andon-request-reply.mjs';
import { startNatsServer } from './lib/nats-server.mjs';
import rawNats from './raw-nats/config.mjs';
import rawNatsRelay from './raw-nats-relay/config.mjs';
import { requestReply } from './request-reply.mjs';

const CONFIGS = selectConfigs([rawNats, rawNatsRelay, rawTcp, andonNats, andonTcp]);
const REQUEST_REPLY = [rawNats];
const ANDON_REQUEST_REPLY = ['nats', 'tcp'];

const settings = harnessSettings({ oneStreamItems: 1_000_000, throughputRuns: 3 });
const rr = {
  inFlight: intFromEnv('ANDON_BENCH_RR_INFLIGHT', 100),
  durationMs: intFromEnv('ANDON_BENCH_RR_MS', 3000),
};

const log = (line) => process.stderr.write(`${line}\n`);
const started = Date.now();
const server = await startNatsServer();
try {
  // The tiers are forked by the harness and inherit this.
  process.env.ANDON_BENCH_NATS_URL = server.url;
  const results = await runBenchmark(CONFIGS, settings, log);
  for (const rows of Object.values(results.cancelLatency)) {
    for (const [name, label] of [
      ['raw-nats', 'RawNats'],
      ['raw-nats-relay', 'RawNatsRelay'],
    ]) {
      const base = rows[name];
      if (!base) continue;
      for (const row of Object.values(rows)) {
        row[`p50Vs${label}`] = Math.round((row.p50Us / base.p50Us) * 100) / 100;
        row[`p99Vs${label}`] = Math.round((row.p99Us / base.p99Us) * 100) / 100;
      }
    }
  }
  const requestReplyResults = {};
  const runRequestReply = rr.durationMs > 0;
  for (const config of runRequestReply ? REQUEST_REPLY : []) {
    log(`request/reply: ${config.name}, ${rr.inFlight} in flight`);
    requestReplyResults[config.name] = await requestReply(config, { natsUrl: server.url, ...rr });
  }
  for (const transport of runRequestReply ? ANDON_REQUEST_REPLY : []) {
    log(`request/response: andon-${transport}, ${rr.inFlight} in flight`);
    requestReplyResults[`andon-${transport}`] = await andonRequestReply(transport, {
      natsUrl: server.url,
      ...rr,
    });
  }
  const rawRate = requestReplyResults['raw-nats']?.requestsPerSec;
  for (const row of Object.values(requestReplyResults)) {
    if (rawRate) row.rateVsRawNats = Math.round((row.requestsPerSec / rawRate) * 100) / 100;
  }
  // The headline: andon over NATS against raw NATS, route by route. On the 'middle' route
  // raw-nats-relay is the like-for-like baseline (a process in the middle, as andon has);
  // raw-nats there has nats-server alone in the middle, one process fewer.
  const andonVsRawNats = {};
  // Which baseline has the same processes as each andon route, so the ratio to read is clear.
  const likeForLike = {
    '2-tier': 'raw-nats: client → nats-server → server, the three processes of bench/BASELINES.md',
    '3-tier': 'raw-nats-relay: client → nats-server → middle process → nats-server → server',
  };
  for (const [route, rows] of Object.entries(results.cancelLatency)) {
    const a = rows['andon-nats'];
    if (!a) continue;
    andonVsRawNats[route] = {
      likeForLike: likeForLike[route],
      andonNatsP50Us: a.p50Us,
      andonNatsP99Us: a.p99Us,
      p50VsRawNats: a.p50VsRawNats,
      p99VsRawNats: a.p99VsRawNats,
      ...(a.p50VsRawNatsRelay === undefined
        ? {}
        : { p50VsRawNatsRelay: a.p50VsRawNatsRelay, p99VsRawNatsRelay: a.p99VsRawNatsRelay }),
      itemsAfterStopPerCancel: a.itemsAfterStopPerCancel,
    };
  }
  const document = {
    benchmark: 'nats',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, node: process.version, platform: process.platform },
    settings: { ...settings, requestReply: rr },
    configurations: CONFIGS.map((c) => ({ name: c.name, description: c.description })),
    ...results,
    requestReply: requestReplyResults,
    andonVsRawNats,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
} finally {
  await server.stop();
}
