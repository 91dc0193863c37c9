import { setTimeout as delay } from 'node:timers/promises';
import type { Context } from '@andon/context';
import { Runtime } from '@andon/runtime';
import { TierLife } from '../lib/lifecycle.js';
import { type ConnectOptions, runtimeOptions } from '../lib/options.js';
import { READY, say, status } from '../lib/output.js';

/** Options of `andon demo server`. */
export interface ServerOptions extends ConnectOptions {
  graceMs: number;
  exitWithParent?: boolean;
  /** Test hook: never look at the context, so a stop never ends the stream. */
  ignoreStop?: boolean;
}

/** How many numbers a request streams, and how long each takes. */
export const COUNT = 1000;
export const STEP_MS = 100;

/**
 * The demo server's handler: streams 0..999, one every 100 ms, and looks at
 * `ctx.isStopped()` before each step, as the server of Dynamo's demo does, and again before
 * sending what the step made: a graceful stop produces nothing new. A stop ends the stream
 * normally (the caller asked for it), so the caller sees a clean end rather than an error.
 */
export function countTo(count: number, ignoreStop = false) {
  return async function* generate(_request: unknown, ctx: Context): AsyncGenerator<number> {
    for (let i = 0; i < count; i++) {
      say(`Server: Processing iteration ${i}`);
      if (!ignoreStop && ctx.isStopped()) {
        say(`Server: Cancelled at iteration ${i}`);
        return;
      }
      // The simulated work is not interruptible, like a real engine step: the stop is seen
      // at the next check, which is what the demo shows.
      await delay(STEP_MS);
      if (!ignoreStop && ctx.isStopped()) {
        say(`Server: Cancelled at iteration ${i}`);
        return;
      }
      say(`Server: Sending iteration ${i}`);
      yield i;
    }
  };
}

/**
 * `andon demo server`: serves `<namespace>/server/generate` until SIGINT or SIGTERM, then
 * shuts down gracefully; a second signal exits at once. Resolves with the exit code.
 */
export async function runServer(options: ServerOptions): Promise<number> {
  const life = new TierLife('server', options);
  let rt: Runtime | undefined;
  return life.run(
    async () => {
      rt = await Runtime.start(runtimeOptions(options));
      const endpoint = rt.namespace(options.namespace).component('server').endpoint('generate');
      await endpoint.serve(countTo(COUNT, options.ignoreStop));
      status('server', `${READY}${endpoint.path} as instance ${rt.instanceId}`);
    },
    async () => {
      await rt?.shutdown({ graceMs: options.graceMs });
    },
    `serve ${options.namespace}/server/generate`,
  );
}
