import { type Context, race } from '@andon/context';
import { type Client, Runtime } from '@andon/runtime';
import type { EngineChunk, EngineRequest } from '@andon/server';
import { TierLife } from '../lib/lifecycle.js';
import { type ConnectOptions, runtimeOptions, warnBeyondLoopback } from '../lib/options.js';
import { commandPrefix, note, say } from '../lib/output.js';
import { requireTokenBeyondLoopback } from '../lib/token.js';
import { ENGINE, generateEndpoint, ROUTER, readyLine } from './endpoints.js';
import { type WaitFlags, waitTimeout } from './wait.js';

/** Options of `andon router`. */
export interface RouterOptions extends ConnectOptions, WaitFlags {
  /** Address the runtime listens on. */
  host: string;
  graceMs: number;
  exitWithParent?: boolean;
}

const PREFIX = commandPrefix('router');

/**
 * The router's handler: forwards each request to the workers under its own incoming
 * context. That is all a middle tier does for cancellation: a stop or kill from the front
 * end reaches the worker's engine with the same reason (a client disconnect stays kind
 * `disconnect`), and leaving the loop early kills the worker's stream.
 */
export function routeTo(workers: Client<EngineRequest, EngineChunk>) {
  return async function* route(request: EngineRequest, context: Context) {
    yield* await workers.generate(request, { context });
  };
}

/**
 * `andon router`: waits for `--min-workers` workers, then serves
 * `<namespace>/router/generate` (round robin over the workers) until SIGINT or SIGTERM.
 */
export async function runRouter(options: RouterOptions): Promise<number> {
  const life = new TierLife('router', { ...options, prefix: PREFIX });
  let rt: Runtime | undefined;
  return life.run(
    async () => {
      requireTokenBeyondLoopback('the router', options);
      warnBeyondLoopback(PREFIX, options.host, 'the router');
      rt = await Runtime.start(runtimeOptions(options));
      const workers = await generateEndpoint(rt, options.namespace, ENGINE).client();
      const path = `${options.namespace}/${ENGINE}/generate`;
      note(PREFIX, `waiting for ${options.minWorkers} instance(s) of ${path}`);
      await race(
        workers.waitForInstances({ count: options.minWorkers, timeoutMs: waitTimeout(options) }),
        life.context,
      );
      const endpoint = generateEndpoint(rt, options.namespace, ROUTER);
      await endpoint.serve(routeTo(workers));
      say(readyLine('router', endpoint.path, rt.instanceId));
    },
    async () => {
      await rt?.shutdown({ graceMs: options.graceMs });
    },
  );
}
