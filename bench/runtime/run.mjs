// Runs the runtime benchmark over every configuration under bench/runtime/*/config.mjs and
// prints one JSON document on stdout (progress on stderr).
//
//   node bench/runtime/run.mjs
//
// Environment (defaults finish in a couple of minutes on a 2-core machine):
//   ANDON_BENCH_TRIALS        cancel trials per configuration and route (500)
//   ANDON_BENCH_WARMUP        warm-up trials per configuration and route (50)
//   ANDON_BENCH_BLOCK         trials per shuffled block (25)
//   ANDON_BENCH_ROUTES        middle,direct (3 tiers, 2 tiers)
//   ANDON_BENCH_CONFIGS       comma-separated configuration names (all found)
//   ANDON_BENCH_TP_ITEMS      items in the one-stream throughput run (2000000)
//   ANDON_BENCH_TP_STREAMS    concurrent streams through the middle (1000)
//   ANDON_BENCH_TP_STREAM_ITEMS items per concurrent stream (1000)
//   ANDON_BENCH_TP_RUNS       throughput runs per configuration, median reported (5)
//   ANDON_BENCH_AA=1          also run raw-tcp a second time as 'raw-tcp-again': the ratio
//                             between two identical configurations is the run's noise floor
import { existsSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { harnessSettings, selectConfigs } from './env.mjs';
import { runBenchmark } from './harness.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

const settings = harnessSettings({ oneStreamItems: 2_000_000, throughputRuns: 5 });

const found = [];
for (const entry of readdirSync(here, { withFileTypes: true })) {
  const file = join(here, entry.name, 'config.mjs');
  if (!entry.isDirectory() || !existsSync(file)) continue;
  found.push((await import(pathToFileURL(file).href)).default);
}
const configs = selectConfigs(found);
const raw = configs.find((config) => config.name === 'raw-tcp');
if (process.env.ANDON_BENCH_AA === '1' && raw) configs.push({ ...raw, name: 'raw-tcp-again' });

const started = Date.now();
const results = await runBenchmark(configs, settings, (line) => process.stderr.write(`${line}\n`));
const document = {
  benchmark: 'runtime',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, node: process.version, platform: process.platform },
  settings,
  configurations: configs.map((c) => ({ name: c.name, description: c.description })),
  ...results,
  seconds: Math.round((Date.now() - started) / 1000),
};
process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
