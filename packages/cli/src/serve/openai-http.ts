// The OpenAI-compatible HTTP server on a runtime backend, shared by `andon serve` and
// `andon frontend` (the command itself is frontend.ts).
import { type Context, race } from '@andon/context';
import type { Runtime } from '@andon/runtime';
import {
  type ApiKeys,
  type CompletionBackend,
  OpenAIServer,
  type ServerMetrics,
} from '@andon/server';
import type { TaskManager } from '@andon/tasks';
import { createLogger } from '../lib/log.js';
import { note } from '../lib/output.js';
import { ENGINE, generateEndpoint, type ROUTER } from './endpoints.js';
import { type WaitFlags, waitTimeout } from './wait.js';

/** Where the HTTP front end listens. */
export interface HttpFlags {
  host: string;
  /** 0: a free port. */
  port: number;
}

/** What {@link openFrontEnd} needs. */
export interface FrontEndSetup extends HttpFlags, WaitFlags {
  /** Require these keys on every endpoint but the probes; absent: one anonymous user. */
  keys?: ApiKeys | undefined;
  namespace: string;
  /** The tier the front end calls: the workers, or a router in front of them. */
  component: typeof ENGINE | typeof ROUTER;
  /** How long cancelled requests get to wind down when the server closes. */
  graceMs: number;
  /** Stopping it gives up the wait for instances (a signal during startup). */
  context: Context;
  /** Status lines start with this. */
  prefix: string;
}

/**
 * Builds the OpenAI-compatible front end on a runtime client for `<ns>/<component>/generate`,
 * once `minWorkers` instances are in discovery. The client is the server's backend as it is:
 * each HTTP request's context goes with the call, so a client that disconnects kills the
 * request on the worker (kind `disconnect`). Not listening yet: call `listen()`.
 */
export async function openFrontEnd(rt: Runtime, setup: FrontEndSetup): Promise<OpenAIServer> {
  return httpServer(await connectBackend(rt, setup), setup);
}

/**
 * The runtime client of `<ns>/<component>/generate`, once `minWorkers` instances are in
 * discovery: a {@link CompletionBackend} whose calls carry the caller's context.
 */
export async function connectBackend(
  rt: Runtime,
  setup: FrontEndSetup,
): Promise<CompletionBackend> {
  const endpoint = generateEndpoint(rt, setup.namespace, setup.component);
  const client = await endpoint.client();
  const what = setup.component === ENGINE ? 'worker' : 'router';
  note(setup.prefix, `waiting for ${setup.minWorkers} ${what} instance(s) of ${endpoint.path}`);
  await race(
    client.waitForInstances({ count: setup.minWorkers, timeoutMs: waitTimeout(setup) }),
    setup.context,
  );
  return client;
}

/** The OpenAI server on `backend`, logging one line per request on stderr (lib/log.ts). */
export function httpServer(
  backend: CompletionBackend,
  setup: HttpFlags & {
    graceMs: number;
    metrics?: ServerMetrics;
    tasks?: TaskManager;
    keys?: ApiKeys | undefined;
  },
): OpenAIServer {
  return new OpenAIServer({
    backend,
    host: setup.host,
    port: setup.port,
    shutdownGraceMs: setup.graceMs,
    logger: createLogger('andon-frontend'),
    ...(setup.metrics === undefined ? {} : { metrics: setup.metrics }),
    ...(setup.tasks === undefined ? {} : { tasks: setup.tasks }),
    ...(setup.keys === undefined ? {} : { apiKeys: setup.keys }),
  });
}

/** The status line after the URL: how to try it. */
export function tryItLine(url: string): string {
  return `listening on ${url}; try: curl -N ${url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"andon-sim","stream":true,"messages":[{"role":"user","content":"hi"}]}'`;
}
