import { type Context, race } from '@andon/context';
import { type Client, Runtime } from '@andon/runtime';
import { FOREVER_MS } from '../lib/forever.js';
import { TierLife } from '../lib/lifecycle.js';
import { type ConnectOptions, runtimeOptions } from '../lib/options.js';
import { READY, say, status } from '../lib/output.js';

/** Options of `andon demo middle`. */
export interface MiddleOptions extends ConnectOptions {
  graceMs: number;
  exitWithParent?: boolean;
}

/**
 * The middle's handler: forwards each request to the server under its own incoming
 * context, so a stop or kill from its caller reaches the server with nothing else to do.
 */
export function forwardTo(server: Client<unknown, unknown>) {
  return async function* forward(request: unknown, ctx: Context): AsyncGenerator<unknown> {
    const stream = await server.generate(request, { context: ctx });
    for await (const item of stream) {
      say(`Middle server: Forwarding response ${JSON.stringify(item)}`);
      yield item;
    }
  };
}

/**
 * `andon demo middle`: waits for the server, then serves `<namespace>/middle/generate`
 * until SIGINT or SIGTERM, like the server. Resolves with the exit code.
 */
export async function runMiddle(options: MiddleOptions): Promise<number> {
  const life = new TierLife('middle', options);
  let rt: Runtime | undefined;
  return life.run(
    async () => {
      rt = await Runtime.start(runtimeOptions(options));
      const ns = rt.namespace(options.namespace);
      const server = await ns.component('server').endpoint('generate').client();
      status('middle', `waiting for ${options.namespace}/server/generate`);
      // A signal cuts the wait short.
      await race(server.waitForInstances({ timeoutMs: FOREVER_MS }), life.context);
      const endpoint = ns.component('middle').endpoint('generate');
      await endpoint.serve(forwardTo(server));
      status('middle', `${READY}${endpoint.path} as instance ${rt.instanceId}`);
    },
    async () => {
      await rt?.shutdown({ graceMs: options.graceMs });
    },
    `serve ${options.namespace}/middle/generate`,
  );
}
