import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { race } from '@andon/context';
import { Runtime } from '@andon/runtime';
import { ServerMetrics, SimulatedEngine } from '@andon/server';
import { TierLife } from '../lib/lifecycle.js';
import { runtimeOptions } from '../lib/options.js';
import { commandPrefix, ERROR, note } from '../lib/output.js';
import { describeEnding } from '../lib/tier-process.js';
import { TOKEN_ENV, tokenOf } from '../lib/token.js';
import { type AuthFlags, loadApiKeys } from './auth-options.js';
import { ENGINE } from './endpoints.js';
import { type EngineFlags, engineArgs, engineOptions, withSeed } from './engine-options.js';
import { connectBackend, type HttpFlags } from './openai-http.js';
import { ServeFront } from './serve-front.js';
import type { TaskFlags } from './task-options.js';
import { WorkerPool } from './worker-pool.js';

/** Options of `andon serve`. */
export interface ServeOptions extends EngineFlags, HttpFlags, TaskFlags, AuthFlags {
  /** Run the engines in this many `andon worker` child processes; in-process when absent. */
  workers?: number;
  /** With `workers`: NATS instead of TCP and a temporary discovery directory. */
  nats?: string;
  /** With `workers`: how long they may take to be ready. */
  startupTimeout: number;
  /** With `workers`: SIGKILL a worker this long after SIGTERM. */
  killAfter: number;
  /** With `workers`: restarts of one crashed worker allowed within a minute. */
  maxRestarts: number;
  /** With `workers`: the shared secret read from `--token-file`. */
  tokenFile?: string;
  graceMs: number;
}

const PREFIX = commandPrefix('serve');
// The workers' namespace: private to this run (its own discovery directory), so fixed.
const NAMESPACE = 'andon';

/**
 * `andon serve`: the front end and the engine in one command. By default one process (the
 * engine in-process); with `--workers N`, N `andon worker` child processes behind an
 * in-process front end, over TCP and a fresh temporary discovery directory. Prints the URL
 * on stdout. The first SIGINT or SIGTERM closes everything (workers and directory too); a
 * second exits at once, killing the workers.
 */
export function runServe(options: ServeOptions): Promise<number> {
  const life = new TierLife('serve', { graceMs: options.graceMs, prefix: PREFIX });
  return options.workers === undefined
    ? runEmbedded(options, life)
    : runWithWorkers(options, options.workers, life);
}

async function runEmbedded(options: ServeOptions, life: TierLife): Promise<number> {
  // createEmbeddedServer's wiring, with the engine behind withSeed (it has no hook for that).
  const engine = new SimulatedEngine(engineOptions(options));
  const metrics = new ServerMetrics();
  const observation = metrics.observeEngine(engine);
  const backend = withSeed(engine, options.seed);
  let front: ServeFront | undefined;
  return life.run(
    async () => {
      const keys = await loadApiKeys(options, options.host, 'serve');
      front = await ServeFront.open(
        backend,
        { ...options, keys, metrics },
        `embedded engine, ${engine.slots} slots`,
      );
    },
    async () => {
      await front?.close();
      engine.close();
      observation.dispose();
    },
  );
}

async function runWithWorkers(
  options: ServeOptions,
  count: number,
  life: TierLife,
): Promise<number> {
  const dir =
    options.nats === undefined ? await mkdtemp(join(tmpdir(), 'andon-serve-')) : undefined;
  // The workers take calls only from whoever proves this secret: the given one, else one
  // made for this run, which only this process and its children ever hold.
  const token = tokenOf(options) ?? randomBytes(32).toString('base64url');
  const pool = new WorkerPool({
    count,
    env: { [TOKEN_ENV]: token },
    args: [
      '--namespace',
      NAMESPACE,
      ...(dir === undefined ? ['--nats', options.nats!] : ['--discovery-dir', dir]),
      '--metrics-port',
      '0',
      '--grace-ms',
      String(options.graceMs),
      '--exit-with-parent',
      ...engineArgs(options),
    ],
    startupMs: options.startupTimeout,
    maxRestarts: options.maxRestarts,
    // The others serve meanwhile; a request that was on the lost worker fails (kind
    // disconnect) and new ones go to the rest.
    lost: (name, ending, restarting) => {
      if (restarting) {
        note(PREFIX, `${ERROR}${name} ${describeEnding(ending)}; restarting it`);
        return;
      }
      const left = pool.running;
      note(
        PREFIX,
        `${ERROR}${name} ${describeEnding(ending)} and was restarted ${options.maxRestarts} times within a minute: given up. ${left === 0 ? 'No worker is left: completions fail until serve is restarted' : `${left} worker(s) still serve`}`,
      );
    },
    restarted: (worker, attempt) => {
      const metrics = worker.metricsUrl === undefined ? '' : ` (metrics ${worker.metricsUrl})`;
      note(PREFIX, `${worker.name} is back after restart ${attempt}${metrics}`);
    },
  });
  // A second signal exits at once (process.exit): nothing async runs then, so the workers
  // are killed and the directory removed synchronously on the way out.
  const onExit = () => {
    pool.killNow();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  let rt: Runtime | undefined;
  let front: ServeFront | undefined;
  return life.run(
    async () => {
      const keys = await loadApiKeys(options, options.host, 'serve');
      // Their ready lines (instance id, metrics URL) are relayed on stderr as they come.
      await race(pool.ready, life.context);
      rt = await Runtime.start(
        runtimeOptions(
          {
            namespace: NAMESPACE,
            ...(dir === undefined ? { nats: options.nats! } : { discoveryDir: dir }),
          },
          token,
        ),
      );
      const backend = await connectBackend(rt, {
        ...options,
        namespace: NAMESPACE,
        component: ENGINE,
        minWorkers: count,
        wait: options.startupTimeout,
        context: life.context,
        prefix: PREFIX,
      });
      front = await ServeFront.open(backend, { ...options, keys }, `${count} worker processes`);
    },
    async () => {
      await front?.close();
      await rt?.shutdown({ graceMs: 0 });
      await pool.stop(options.killAfter);
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
      process.off('exit', onExit);
    },
  );
}
