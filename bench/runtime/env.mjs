/** A whole number from the environment, or `fallback` when unset; a TypeError names a bad one. */
export function intFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * The harness settings both runners read from the environment (see run.mjs), with each
 * runner's own defaults for the throughput runs.
 */
export function harnessSettings({ oneStreamItems, throughputRuns }) {
  const settings = {
    trials: intFromEnv('ANDON_BENCH_TRIALS', 500),
    warmup: intFromEnv('ANDON_BENCH_WARMUP', 50),
    block: Math.max(1, intFromEnv('ANDON_BENCH_BLOCK', 25)),
    routes: (process.env.ANDON_BENCH_ROUTES || 'middle,direct').split(',').map((r) => r.trim()),
    oneStreamItems: intFromEnv('ANDON_BENCH_TP_ITEMS', oneStreamItems),
    manyStreams: intFromEnv('ANDON_BENCH_TP_STREAMS', 1000),
    manyStreamItems: intFromEnv('ANDON_BENCH_TP_STREAM_ITEMS', 1000),
    throughputRuns: intFromEnv('ANDON_BENCH_TP_RUNS', throughputRuns),
  };
  for (const route of settings.routes) {
    if (route !== 'middle' && route !== 'direct')
      throw new TypeError(`ANDON_BENCH_ROUTES: unknown route ${route}`);
  }
  return settings;
}

/** The configurations ANDON_BENCH_CONFIGS names (all when unset); throws when none is left. */
export function selectConfigs(all) {
  const wanted = process.env.ANDON_BENCH_CONFIGS?.split(',').map((name) => name.trim());
  const chosen = all.filter((config) => !wanted || wanted.includes(config.name));
  if (chosen.length === 0) {
    throw new Error(`ANDON_BENCH_CONFIGS names none of ${all.map((c) => c.name).join(', ')}`);
  }
  return chosen;
}
