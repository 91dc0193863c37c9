import { type Context, race } from '@andon/context';
import { type Client, Runtime } from '@andon/runtime';
import { TierLife } from '../lib/lifecycle.js';
import { type ConnectOptions, runtimeOptions } from '../lib/options.js';
import { describeError, error, READY, say, status } from '../lib/output.js';

/** Options of `andon demo middle`. */
export interface MiddleOptions extends ConnectOptions {
  graceMs: number;
  exitWithParent?: boolean;
}

// The longest timer Node honours: the middle waits for its backend as long as it runs.
const FOREVER_MS = 2_147_483_647;

/**
 * The middle's handler: forwards each request to the backend under its own incoming
 * context, so a stop or kill from its caller reaches the backend with nothing else to do.
 */
export function forwardTo(backend: Client<unknown, unknown>) {
  return async function* forward(request: unknown, ctx: Context): AsyncGenerator<unknown> {
    const stream = await backend.generate(request, { context: ctx });
    for await (const item of stream) {
      say(`Middle server: Forwarding response ${JSON.stringify(item)}`);
      yield item;
    }
  };
}

/**
 * `andon demo middle`: waits for the backend, then serves `<namespace>/middle/generate`
 * until SIGINT or SIGTERM, like the server. Resolves with the exit code.
 */
export async function runMiddle(options: MiddleOptions): Promise<number> {
  const life = new TierLife('middle', options);
  let rt: Runtime | undefined;
  // Set up before anything can fail, so that a failed start still lets go of the signals
  // and of stdin (which would otherwise keep the process alive).
  const done = life.closeOnStop(async () => {
    await rt?.shutdown({ graceMs: options.graceMs });
  });
  const backendPath = `${options.namespace}/server/generate`;
  const path = `${options.namespace}/middle/generate`;
  try {
    rt = await Runtime.start(runtimeOptions(options));
    const ns = rt.namespace(options.namespace);
    const endpoint = ns.component('middle').endpoint('generate');
    const backend = await ns.component('server').endpoint('generate').client();
    status('middle', `waiting for ${backendPath}`);
    await race(backend.waitForInstances({ timeoutMs: FOREVER_MS }), life.context);
    await endpoint.serve(forwardTo(backend));
  } catch (failure) {
    // A signal while starting cuts the wait short; the shutdown is already under way.
    if (life.context.isStopped()) return done;
    error('middle', `cannot serve ${path}: ${describeError(failure)}`);
    life.context.stop('startup failed');
    await done;
    return 1;
  }
  status('middle', `${READY}${path} as instance ${rt.instanceId}`);
  return done;
}
