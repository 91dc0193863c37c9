import { Context, isCancelledError, race } from '@andon/context/node';
import { Runtime } from '@andon/runtime';
import { exitCode, exitOnSecondSignal, stopWhenParentGoes } from '../lib/lifecycle.js';
import { type ConnectOptions, runtimeOptions } from '../lib/options.js';
import { describeError, error, say, status, statusPrefix } from '../lib/output.js';

/** Options of `andon demo client`. */
export interface ClientOptions extends ConnectOptions {
  /** Call the middle tier instead of the server. */
  middle: boolean;
  /** How long to wait for the tier to appear in discovery. */
  waitMs: number;
  exitWithParent?: boolean;
}

/** How many responses the client reads before it stops its request. */
export const STOP_AFTER = 3;

/**
 * `andon demo client`: calls the server (or the middle), stops its context after the third
 * response, reads on until the stream ends, and resolves with the exit code. A first
 * SIGINT/SIGTERM stops the request early; a second exits at once.
 */
export async function runClient(options: ClientOptions): Promise<number> {
  const session = new Context();
  exitOnSecondSignal(session, statusPrefix('client'));
  const unwatchParent = options.exitWithParent ? stopWhenParentGoes(session) : () => {};
  let rt: Runtime | undefined;
  try {
    rt = await Runtime.start(runtimeOptions(options));
    const tier = options.middle ? 'middle' : 'server';
    const endpoint = rt.namespace(options.namespace).component(tier).endpoint('generate');
    const client = await endpoint.client();
    await race(client.waitForInstances({ timeoutMs: options.waitMs }), session);
    // A child, so that a signal (which stops the session) stops the request too.
    const context = session.child();
    const stream = await client.generate('dummy_request', { context });
    let received = 0;
    for await (const item of stream) {
      say(`Client: Received ${JSON.stringify(item)}`);
      if (++received === STOP_AFTER) {
        say(`Client: Cancelling after ${STOP_AFTER} responses...`);
        context.stop();
      }
    }
    say('Client: Stream stopped');
    return 0;
  } catch (failure) {
    if (isCancelledError(failure) && session.isStopped()) {
      status('client', `${session.reason?.message ?? 'stopped'} before the request was sent`);
      return exitCode(session.reason);
    }
    error('client', describeError(failure));
    return 1;
  } finally {
    // Also after a failed start: stdin and the signals must not keep the process alive.
    await rt?.shutdown({ graceMs: 0 });
    unwatchParent();
    session.dispose();
  }
}
