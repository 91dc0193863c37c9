import { Runtime } from '@andon/runtime';
import type { OpenAIServer } from '@andon/server';
import { TierLife } from '../lib/lifecycle.js';
import { type ConnectOptions, runtimeOptions } from '../lib/options.js';
import { commandPrefix, note, say } from '../lib/output.js';
import { type AuthFlags, loadApiKeys } from './auth-options.js';
import { ENGINE, ROUTER } from './endpoints.js';
import { type HttpFlags, openFrontEnd, tryItLine } from './openai-http.js';
import type { WaitFlags } from './wait.js';

/** Options of `andon frontend`. */
export interface FrontendOptions
  extends Omit<ConnectOptions, 'host'>,
    HttpFlags,
    WaitFlags,
    AuthFlags {
  /** Call `<namespace>/router/generate` instead of the workers directly. */
  viaRouter: boolean;
  graceMs: number;
  exitWithParent?: boolean;
}

const PREFIX = commandPrefix('frontend');

/**
 * `andon frontend`: the OpenAI-compatible HTTP front end in front of workers (or a router)
 * found through discovery. Prints its URL on stdout once listening; the first SIGINT or
 * SIGTERM closes it (in-flight requests end with kind `shutdown` in every tier), a second
 * exits at once.
 */
export async function runFrontend(options: FrontendOptions): Promise<number> {
  const life = new TierLife('frontend', { ...options, prefix: PREFIX });
  let rt: Runtime | undefined;
  let server: OpenAIServer | undefined;
  return life.run(
    async () => {
      // The runtime only calls out here, so --host is the HTTP server's, not the runtime's.
      const { host: _http, ...connect } = options;
      const keys = await loadApiKeys(options, options.host, 'frontend');
      rt = await Runtime.start(runtimeOptions(connect));
      server = await openFrontEnd(rt, {
        ...options,
        keys,
        component: options.viaRouter ? ROUTER : ENGINE,
        context: life.context,
        prefix: PREFIX,
      });
      const url = await server.listen();
      say(url);
      note(PREFIX, tryItLine(url));
    },
    async () => {
      await server?.close();
      await rt?.shutdown({ graceMs: 0 });
    },
  );
}
