import { SimulatedEngine, type SimulatedEngineOptions } from './engine/engine.js';
import { OpenAIServer, type OpenAIServerOptions } from './http/server.js';
import { ServerMetrics } from './metrics.js';

/** Options of {@link createEmbeddedServer}: the server's, plus the engine's. */
export interface EmbeddedServerOptions extends Omit<OpenAIServerOptions, 'backend'> {
  engine?: SimulatedEngineOptions;
}

/** A front end and a simulated engine in one process (what `andon serve` runs by default). */
export interface EmbeddedServer {
  readonly server: OpenAIServer;
  readonly engine: SimulatedEngine;
  readonly metrics: ServerMetrics;
  /** Starts listening; resolves with the URL. */
  listen(): Promise<string>;
  /**
   * Shuts down the tasks (when given: running ones end `cancelled` with kind `shutdown`),
   * closes the server (in-flight requests end with kind `shutdown`), then the engine.
   */
  close(): Promise<void>;
}

/**
 * Wires a {@link SimulatedEngine} straight into an {@link OpenAIServer}: the front end's
 * request contexts reach the engine without a network hop, and `/metrics` shows the engine's
 * slots, queue, tokens and cancellations next to the front end's.
 *
 * @example
 * const app = createEmbeddedServer({ engine: { slots: 8, tokenMs: 10 } });
 * console.log(await app.listen());   // http://127.0.0.1:<port>
 * // curl -N $URL/v1/chat/completions -d '{"model":"andon-sim","stream":true,
 * //   "messages":[{"role":"user","content":"hi"}]}'
 * await app.close();
 *
 * @example
 * // with tasks under /v1/tasks: the built-in kinds run on the same engine
 * const tasks = await TaskManager.open();
 * const app = createEmbeddedServer({ tasks });
 * defineBuiltinKinds(tasks, { backend: app.engine });
 */
export function createEmbeddedServer(options: EmbeddedServerOptions = {}): EmbeddedServer {
  const { engine: engineOptions, ...serverOptions } = options;
  const engine = new SimulatedEngine(engineOptions);
  const metrics = serverOptions.metrics ?? new ServerMetrics();
  const observation = metrics.observeEngine(engine);
  const server = new OpenAIServer({ ...serverOptions, backend: engine, metrics });
  return {
    server,
    engine,
    metrics,
    listen: () => server.listen(),
    async close() {
      // Tasks first, so every watcher gets its terminal event before the sockets close.
      await serverOptions.tasks?.shutdown({ graceMs: serverOptions.shutdownGraceMs ?? 2_000 });
      await server.close();
      engine.close();
      observation.dispose();
    },
  };
}
