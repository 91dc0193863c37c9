/**
 * The runtime benchmark's harness: runs every configuration side by side, interleaved so
 * that they share the machine's noise, and reports ratios to the raw TCP floor.
 *
 * ## What a configuration provides
 *
 * A directory `bench/runtime/<name>/` with `config.mjs` whose default export is
 *
 *     { name: string, description?: string,
 *       scripts: { server: URL | path, middle: URL | path, client: URL | path } }
 *
 * Each script is one tier, run as its own process with `child_process.fork` (so
 * `process.send` reaches the harness). `argv[2]` is JSON settings; `./tier.mjs` has helpers
 * (tierArgs, report, onCommand, now; a tier exits when the harness disconnects).
 * Times cross the channel as decimal strings of `process.hrtime.bigint()`: on Linux that
 * clock (CLOCK_MONOTONIC) is one clock for every process.
 *
 * Start order (each step waits for the previous tier's `ready`, 15 s at most):
 * 1. server: argv `{ "role": "server" }`. Serves, then sends `{ type: 'ready', address }`.
 *    The address is opaque to the harness (host:port, a discovery name, anything).
 * 2. middle: argv `{ "role": "middle", "server": <server address> }`. Forwards each client
 *    stream to the server as a stream of its own (passing stop through), then sends
 *    `{ type: 'ready', address }`.
 * 3. client: argv `{ "role": "client", "server": <addr>, "middle": <addr> }`. Sets up
 *    whatever it needs to call both (route `direct` = straight to the server, 2 tiers;
 *    route `middle` = through the middle, 3 tiers), then sends `{ type: 'ready' }`.
 * Any tier may send `{ type: 'error', message }`; the run then fails with that message.
 *
 * A request carries a JSON body. The server must understand two:
 *   `{ mode: 'cancel', trial }`: produce one 32-byte item every ~1 ms until stopped.
 *   `{ mode: 'throughput', trial, items }`: produce `items` 32-byte items as fast as the
 *     stream allows (coalescing writes), then end the stream normally.
 *
 * Cancel trial. Harness → client: `{ type: 'cancel-trial', trial, route }`. The client
 * opens a stream with body `{ mode: 'cancel', trial }` on `route`, reads 3 items, takes
 * `tStop = process.hrtime.bigint()` right after the third arrives, then asks for a
 * graceful stop. When its stream has ended it sends
 *   `{ type: 'cancel-result', trial, tStop: '<ns>', received: <items read> }`.
 * The server's stop handler takes `tObs = process.hrtime.bigint()` as its FIRST statement,
 * and once that stream's handler has finished (so items made after the observation are
 * counted too) sends
 *   `{ type: 'observed', trial, tObs: '<ns>', producedAt: ['<ns>', ...] }`
 * with the production times of the stream's last 16 items or fewer (taken when each item
 * was handed to the transport). Latency = tObs − tStop; items after the stop = how many
 * producedAt are later than tStop. The next trial starts when both messages are in (10 s
 * at most).
 *
 * Throughput. Harness → client: `{ type: 'throughput', trial, route, streams,
 * itemsPerStream }`. The client takes a start time, opens `streams` streams on `route`
 * with body `{ mode: 'throughput', trial, items: itemsPerStream }`, counts the items it
 * receives, and when every stream has ended sends
 *   `{ type: 'throughput-result', trial, items: <received>, ns: '<elapsed ns>' }`.
 *
 * The configuration named `raw-tcp` is the baseline the ratios are taken against.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const READY_MS = 15_000;
const TRIAL_MS = 10_000;

/** Starts server, middle and client of one configuration. */
export async function startConfiguration(config) {
  checkConfiguration(config);
  const tiers = [];
  const waiters = new Map(); // `${kind}:${trial}` → { resolve, reject }
  const early = new Map(); // messages that arrived before anyone waited for them
  let failure;

  const fail = (error) => {
    failure ??= error;
    for (const waiter of waiters.values()) waiter.reject(error);
    waiters.clear();
  };

  const spawnTier = (role, settings) =>
    new Promise((resolve, reject) => {
      const script = config.scripts[role];
      const child = fork(
        script instanceof URL ? fileURLToPath(script) : script,
        [JSON.stringify({ role, ...settings })],
        {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      );
      tiers.push(child);
      const timer = setTimeout(
        () => reject(new Error(`${config.name} ${role} not ready in ${READY_MS} ms`)),
        READY_MS,
      );
      child.on('message', (message) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(message);
        } else if (message.type === 'error') {
          const error = new Error(`${config.name} ${role}: ${message.message}`);
          clearTimeout(timer);
          reject(error);
          fail(error);
        } else {
          deliver(message);
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const error = new Error(`${config.name} ${role} exited (${signal ?? code})`);
        reject(error);
        if (!closing) fail(error);
      });
    });

  const deliver = (message) => {
    const kind = message.type === 'observed' ? 'observed' : 'client';
    const id = `${kind}:${message.trial}`;
    const waiter = waiters.get(id);
    if (waiter) {
      waiters.delete(id);
      waiter.resolve(message);
    } else early.set(id, message);
  };

  const expect = (kind, trial) => {
    const id = `${kind}:${trial}`;
    if (early.has(id)) {
      const message = early.get(id);
      early.delete(id);
      return Promise.resolve(message);
    }
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => waiters.set(id, { resolve, reject }));
  };

  let closing = false;
  const close = async () => {
    closing = true;
    await Promise.all(
      tiers.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  };

  try {
    const server = await spawnTier('server', {});
    const middle = await spawnTier('middle', { server: server.address });
    await spawnTier('client', { server: server.address, middle: middle.address });
  } catch (error) {
    await close();
    throw error;
  }
  const client = tiers[2];

  return {
    name: config.name,
    close,
    /** One cancel trial: { latencyNs, itemsAfterStop, received }. */
    async cancelTrial(trial, route) {
      const results = Promise.all([expect('client', trial), expect('observed', trial)]);
      client.send({ type: 'cancel-trial', trial, route });
      const [done, observed] = await withTimeout(
        results,
        TRIAL_MS,
        `${config.name} cancel trial ${trial} (${route})`,
      );
      const tStop = BigInt(done.tStop);
      const after = observed.producedAt.filter((t) => BigInt(t) > tStop).length;
      return {
        latencyNs: Number(BigInt(observed.tObs) - tStop),
        itemsAfterStop: after,
        received: done.received,
      };
    },
    /** One throughput run: { items, ns }. */
    async throughput(trial, route, streams, itemsPerStream) {
      const result = expect('client', trial);
      client.send({ type: 'throughput', trial, route, streams, itemsPerStream });
      const done = await withTimeout(
        result,
        120_000,
        `${config.name} throughput ${trial} (${route})`,
      );
      return { items: done.items, ns: Number(BigInt(done.ns)) };
    },
  };
}

function checkConfiguration(config) {
  if (typeof config?.name !== 'string' || config.name === '') {
    throw new TypeError(`a configuration needs a name, got ${JSON.stringify(config?.name)}`);
  }
  for (const role of ['server', 'middle', 'client']) {
    const script = config.scripts?.[role];
    if (!(script instanceof URL) && typeof script !== 'string') {
      throw new TypeError(`configuration ${config.name} needs scripts.${role} (a URL or a path)`);
    }
  }
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Fisher–Yates, in place. */
export function shuffle(list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

/** Nearest-rank percentile of sorted numbers. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const round = (value, digits = 1) => Number(value.toFixed(digits));

function summarize(latenciesNs, afterStop) {
  const sorted = [...latenciesNs].sort((a, b) => a - b);
  return {
    trials: sorted.length,
    p50Us: round(percentile(sorted, 50) / 1000),
    p99Us: round(percentile(sorted, 99) / 1000),
    meanUs: round(sorted.reduce((a, b) => a + b, 0) / sorted.length / 1000),
    minUs: round(sorted[0] / 1000),
    maxUs: round(sorted[sorted.length - 1] / 1000),
    itemsAfterStopPerCancel: round(afterStop.reduce((a, b) => a + b, 0) / afterStop.length, 3),
  };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

/**
 * Runs the whole benchmark over `configs` (objects from config.mjs) and returns the
 * report. `log` receives progress lines (stderr in run.mjs).
 */
export async function runBenchmark(configs, settings, log = () => {}) {
  const {
    trials,
    warmup,
    block,
    routes,
    oneStreamItems,
    manyStreams,
    manyStreamItems,
    throughputRuns,
  } = settings;
  const baseline = 'raw-tcp';
  const running = [];
  let trial = 0;
  try {
    for (const config of configs) {
      log(`starting ${config.name}`);
      running.push(await startConfiguration(config));
    }

    const units = running.flatMap((run) => routes.map((route) => ({ run, route })));
    for (const { run, route } of units) {
      log(`warming up ${run.name} ${route}`);
      for (let i = 0; i < warmup; i++) await run.cancelTrial(++trial, route);
    }

    const samples = new Map(units.map((u) => [u, { latencies: [], afterStop: [], short: 0 }]));
    for (let done = 0; done < trials; done += block) {
      const size = Math.min(block, trials - done);
      for (const unit of shuffle([...units])) {
        const sample = samples.get(unit);
        for (let i = 0; i < size; i++) {
          const result = await unit.run.cancelTrial(++trial, unit.route);
          sample.latencies.push(result.latencyNs);
          sample.afterStop.push(result.itemsAfterStop);
          if (result.received < 3) sample.short++;
        }
      }
      log(`cancel latency: ${Math.min(done + size, trials)}/${trials} trials per configuration`);
    }

    const throughput = new Map(running.map((run) => [run, { oneStream: [], manyStreams: [] }]));
    for (let r = 0; r < throughputRuns; r++) {
      for (const run of shuffle([...running])) {
        const one = await run.throughput(++trial, 'direct', 1, oneStreamItems);
        throughput.get(run).oneStream.push(one);
        const many = await run.throughput(++trial, 'middle', manyStreams, manyStreamItems);
        throughput.get(run).manyStreams.push(many);
      }
      log(`throughput: run ${r + 1}/${throughputRuns}`);
    }

    return report({ running, routes, samples, units, throughput, baseline, settings });
  } finally {
    await Promise.all(running.map((run) => run.close()));
  }
}

function report({ running, routes, samples, units, throughput, baseline, settings }) {
  const cancelLatency = {};
  for (const route of routes) {
    const label = route === 'middle' ? '3-tier' : '2-tier';
    const rows = {};
    for (const unit of units.filter((u) => u.route === route)) {
      const sample = samples.get(unit);
      rows[unit.run.name] = {
        ...summarize(sample.latencies, sample.afterStop),
        ...(sample.short > 0 ? { trialsWithFewerThan3Items: sample.short } : {}),
      };
    }
    const base = rows[baseline];
    for (const row of Object.values(rows)) {
      if (base) {
        row.p50VsRawTcp = round(row.p50Us / base.p50Us, 2);
        row.p99VsRawTcp = round(row.p99Us / base.p99Us, 2);
      }
    }
    cancelLatency[label] = rows;
  }

  const rate = (runs) => median(runs.map((run) => (run.items / run.ns) * 1e9));
  const oneStream = {};
  const manyStreams = {};
  for (const run of running) {
    const t = throughput.get(run);
    oneStream[run.name] = {
      itemsPerSec: Math.round(rate(t.oneStream)),
      runsItemsPerSec: t.oneStream.map((x) => Math.round((x.items / x.ns) * 1e9)),
      itemsPerRun: t.oneStream[0]?.items,
    };
    manyStreams[run.name] = {
      itemsPerSec: Math.round(rate(t.manyStreams)),
      runsItemsPerSec: t.manyStreams.map((x) => Math.round((x.items / x.ns) * 1e9)),
      itemsPerRun: t.manyStreams[0]?.items,
    };
  }
  for (const table of [oneStream, manyStreams]) {
    const base = table[baseline];
    if (!base) continue;
    for (const row of Object.values(table))
      row.vsRawTcp = round(row.itemsPerSec / base.itemsPerSec, 2);
  }

  return {
    cancelLatency,
    throughput: {
      oneStreamTwoProcesses: { payloadBytes: 32, ...oneStream },
      [`${settings.manyStreams}StreamsThroughMiddle`]: { payloadBytes: 32, ...manyStreams },
    },
  };
}
