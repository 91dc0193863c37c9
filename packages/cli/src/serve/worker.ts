import { Runtime } from '@andon/runtime';
import { engineHandler, ServerMetrics, SimulatedEngine } from '@andon/server';
import { TierLife } from '../lib/lifecycle.js';
import { type ConnectOptions, runtimeOptions, warnBeyondLoopback } from '../lib/options.js';
import { commandPrefix, say } from '../lib/output.js';
import { requireTokenBeyondLoopback } from '../lib/token.js';
import { ENGINE, generateEndpoint, readyLine } from './endpoints.js';
import { type EngineFlags, engineOptions, withSeed } from './engine-options.js';
import { type MetricsEndpoint, serveMetrics } from './metrics-endpoint.js';
import { openWorkerTasks, type WorkerTaskFlags } from './worker-tasks.js';

/** Options of `andon worker`. */
export interface WorkerOptions extends ConnectOptions, EngineFlags, WorkerTaskFlags {
  /** Address the runtime (and the metrics endpoint) listen on. */
  host: string;
  /** Serve Prometheus metrics on this port (0: a free one); none when absent. */
  metricsPort?: number;
  graceMs: number;
  exitWithParent?: boolean;
}

const PREFIX = commandPrefix('worker');

/**
 * `andon worker`: a simulated engine served at `<namespace>/engine/generate`. Prints one
 * ready line on stdout, then serves until SIGINT or SIGTERM: the first leaves discovery, lets
 * streams finish within `--grace-ms` and stops the rest; a second exits at once.
 */
export async function runWorker(options: WorkerOptions): Promise<number> {
  // Built first so that bad engine settings fail before anything listens.
  const engine = new SimulatedEngine(engineOptions(options));
  const metrics = new ServerMetrics();
  const observation = metrics.observeEngine(engine);
  const life = new TierLife('worker', { ...options, prefix: PREFIX });
  let rt: Runtime | undefined;
  let metricsEndpoint: MetricsEndpoint | undefined;
  let tasks: Awaited<ReturnType<typeof openWorkerTasks>>;
  return life.run(
    async () => {
      requireTokenBeyondLoopback('the worker', options);
      warnBeyondLoopback(PREFIX, options.host, 'the worker');
      rt = await Runtime.start(runtimeOptions(options));
      if (options.metricsPort !== undefined) {
        metricsEndpoint = await serveMetrics(metrics, options.host, options.metricsPort);
      }
      const endpoint = generateEndpoint(rt, options.namespace, ENGINE);
      const backend = withSeed(engine, options.seed);
      // The handler checks every request against the engine limits (maxTokens 4096, as the
      // front end's), whoever sends it.
      await endpoint.serve(engineHandler(backend));
      tasks = await openWorkerTasks(options, backend);
      const extra =
        (metricsEndpoint === undefined ? '' : ` (metrics ${metricsEndpoint.url})`) +
        (tasks === undefined ? '' : `; runs ${tasks.where}`);
      say(readyLine('worker', endpoint.path, rt.instanceId, extra));
    },
    async () => {
      // Its tasks end first (kind shutdown, every watcher gets its end); queued ones stay
      // for the other processes.
      await tasks?.tasks.shutdown({ graceMs: options.graceMs });
      tasks?.release();
      // Runtime next: in-flight streams get their grace period with the engine still running.
      await rt?.shutdown({ graceMs: options.graceMs });
      engine.close();
      observation.dispose();
      await metricsEndpoint?.close();
    },
  );
}
