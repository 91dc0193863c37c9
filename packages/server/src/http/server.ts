// Built on plain node:http rather than hono: the two things this server must get exactly
// right are SSE writes with backpressure and noticing a client that leaves. Both are
// direct on a ServerResponse (`write()`'s return value and 'drain'; 'close' before
// `writableFinished`), whereas a fetch-style framework puts a web-stream adapter in between
// whose cancellation and buffering we would have to reason about as well. Six fixed routes
// need no router.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Context, rootCause } from '@andon/context';
import type { TaskManager } from '@andon/tasks';
import { type Logger, pino } from 'pino';
import type { ApiKeys } from '../auth/api-keys.js';
import { authenticate } from '../auth/authenticate.js';
import { ANONYMOUS } from '../auth/principal.js';
import type { CompletionBackend } from '../backend.js';
import { ServerMetrics } from '../metrics.js';
import { HttpError } from '../openai/errors.js';
import { modelList } from '../openai/responses.js';
import type { CompletionKind } from '../openai/validate.js';
import { CancelRate } from '../queue/cancel-rate.js';
import type { CompletionRow } from '../queue/protocol.js';
import { QueueHub } from '../queue/queue-hub.js';
import { type QueueSocketOptions, queueSettings } from '../queue/queue-options.js';
import { refuseUpgrade } from '../queue/upgrade-guard.js';
import {
  matchTaskRoute,
  serveTaskRoute,
  type TaskRoute,
  type TaskRouteDeps,
} from '../tasks/task-routes.js';
import { preciseNow } from '../time.js';
import { type CompletionDeps, serveCompletion } from './completions.js';
import { dashboardRoutes, isDashboardPath } from './dashboard.js';
import type { Exchange, ExchangeSummary } from './exchange.js';
import { readiness } from './health.js';
import { matchModelRoute } from './model-routes.js';
import { matchPauseRoute } from './pause-routes.js';
import { PausedStreams } from './paused-streams.js';
import { admitRequest } from './request-guard.js';
import { requestIdOf } from './request-id.js';
import { sendError, sendJson } from './respond.js';

/** Options of {@link OpenAIServer}. Only `backend` is required. */
export interface OpenAIServerOptions {
  /** What generates the text: a {@link SimulatedEngine} in-process, or a runtime client. */
  backend: CompletionBackend;
  /** Model names served (`/v1/models`); others get 404. Default `['andon-sim']`. */
  models?: readonly string[];
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: a free port, see {@link OpenAIServer.url}. */
  port?: number;
  /** Larger request bodies get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  /** The largest `max_tokens` accepted. Default 4096. */
  maxTokensLimit?: number;
  /** `max_tokens` when the request gives none. Default 256. */
  defaultMaxTokens?: number;
  /** An SSE comment after this many ms without output; 0 disables. Default 15 000. */
  heartbeatMs?: number;
  /** How long `close()` waits for cancelled requests to wind down before cutting sockets. Default 2 000. */
  shutdownGraceMs?: number;
  /** Default: a new {@link ServerMetrics} with its own registry. */
  metrics?: ServerMetrics;
  /** A pino logger; every request logs one JSON line with its `reqId`. Default: stderr, level `info`. */
  logger?: Logger;
  /**
   * Serve these tasks under `/v1/tasks` and `/stream` (create, get, list, cancel, events as
   * SSE). The caller owns the manager: shut it down before closing the server, so every
   * watcher gets its terminal event first.
   */
  tasks?: TaskManager;
  /**
   * Require `Authorization: Bearer KEY` with one of these keys on every endpoint but
   * `/live` and `/health` (401 otherwise); tasks then belong to the key's user. Without
   * keys, every request is the one anonymous user.
   */
  apiKeys?: ApiKeys;
  /**
   * Settings of the request queue's WebSocket, `GET /v1/ws` (docs/QUEUE.md), served when
   * the server has `tasks`.
   */
  webSocket?: QueueSocketOptions;
  /**
   * The engine's slots, for the queue's `dashboard` message. Default: the backend's own
   * `stats()` when it has one (a {@link SimulatedEngine}); none when the engines run elsewhere.
   */
  engineStats?: () => { slotsBusy: number; slots: number };
}

type Route =
  | { endpoint: string; method: 'POST'; completion: CompletionKind }
  | { endpoint: string; method: 'GET' | 'POST'; task: TaskRoute }
  | {
      endpoint: string;
      method: 'GET' | 'POST';
      handle: (exchange: Exchange) => Promise<void> | void;
    };

const FRONTEND_ORIGIN = 'http-frontend';

/**
 * An OpenAI-compatible HTTP front end: `POST /v1/chat/completions` and `POST /v1/completions`
 * (streaming as SSE or not), `GET /v1/models` and `/v1/models/{id}`, `GET /health` (ready:
 * 503 while no engine is reachable), `GET /live` (the process answers), `GET /metrics`, and
 * `POST /v1/requests/{request_id}/pause` / `…/resume` for a streaming completion (docs/PAUSE.md).
 *
 * Each request runs under a {@link Context} whose id is the request id (`x-request-id`,
 * honoured and always echoed). A client that goes away before its response is complete
 * kills that context with kind `disconnect`, which stops the work in every tier behind it
 * (a router, the engine in a worker).
 *
 * @example
 * const engine = new SimulatedEngine({ slots: 4 });
 * const server = new OpenAIServer({ backend: engine });
 * const url = await server.listen();           // http://127.0.0.1:<free port>
 * const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused' });
 * // …
 * await server.close();                        // in-flight streams end with kind `shutdown`
 */
export class OpenAIServer {
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly models: readonly string[];
  readonly #host: string;
  readonly #port: number;
  readonly #server: Server;
  readonly #deps: CompletionDeps;
  readonly #taskDeps: TaskRouteDeps | undefined;
  readonly #apiKeys: ApiKeys | undefined;
  readonly #shutdownGraceMs: number;
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #exchanges = new Map<Exchange, Promise<void>>();
  // Streaming completions by request id, for POST /v1/requests/{id}/pause and /resume.
  readonly #pausable = new PausedStreams();
  readonly #startedAt = Math.floor(Date.now() / 1000);
  // The WebSocket queue, when the server has tasks; and the cancellations it shows per second.
  readonly #queue: QueueHub | undefined;
  readonly #cancelRate = new CancelRate();
  #url: string | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: OpenAIServerOptions) {
    if (typeof options?.backend?.generate !== 'function') {
      throw new TypeError(
        'OpenAIServer: options.backend must have a generate(request, { context }) method',
      );
    }
    this.models = options.models ?? ['andon-sim'];
    if (this.models.length === 0) throw new TypeError('OpenAIServer: options.models is empty');
    this.#host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 0;
    this.#shutdownGraceMs = options.shutdownGraceMs ?? 2_000;
    this.metrics = options.metrics ?? new ServerMetrics();
    // stderr by default: stdout belongs to the program (a CLI prints its URL there).
    this.logger = options.logger ?? pino({ name: 'andon-server' }, pino.destination(2));
    const maxTokensLimit = options.maxTokensLimit ?? 4096;
    this.#deps = {
      backend: options.backend,
      limits: {
        models: this.models,
        maxTokensLimit,
        defaultMaxTokens: Math.min(options.defaultMaxTokens ?? 256, maxTokensLimit),
      },
      maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
      heartbeatMs: options.heartbeatMs ?? 15_000,
      pausable: this.#pausable,
      onLateChunk: (chunk) =>
        this.metrics.tokensAfterCancel.inc({ tier: 'frontend' }, chunk.tokens),
    };
    this.#apiKeys = options.apiKeys;
    this.#taskDeps =
      options.tasks === undefined
        ? undefined
        : {
            tasks: options.tasks,
            maxBodyBytes: this.#deps.maxBodyBytes,
            heartbeatMs: this.#deps.heartbeatMs,
          };
    this.#routes = new Map<string, Route>([
      [
        '/v1/chat/completions',
        { endpoint: '/v1/chat/completions', method: 'POST', completion: 'chat' },
      ],
      ['/v1/completions', { endpoint: '/v1/completions', method: 'POST', completion: 'text' }],
      ['/v1/models', { endpoint: '/v1/models', method: 'GET', handle: (ex) => this.#models(ex) }],
      ['/health', { endpoint: '/health', method: 'GET', handle: (ex) => this.#health(ex) }],
      [
        '/live',
        {
          endpoint: '/live',
          method: 'GET',
          handle: (ex) => sendJson(ex.res, 200, { status: 'live' }),
        },
      ],
      ['/metrics', { endpoint: '/metrics', method: 'GET', handle: (ex) => this.#metrics(ex) }],
      ...dashboardRoutes(),
    ]);
    this.#server = createServer({ noDelay: true }, (req, res) => this.#accept(req, res));
    this.#queue = options.tasks && this.#queueHub(options, options.tasks);
    this.#server.on('upgrade', (req, socket, head: Buffer) => {
      if (this.#queue !== undefined) this.#queue.upgrade(req, socket, head);
      else
        refuseUpgrade(socket, { status: 404, message: 'this server has no WebSocket (no tasks)' });
    });
  }

  #queueHub(options: OpenAIServerOptions, tasks: TaskManager): QueueHub {
    const backend = options.backend as Partial<{ stats(): { slotsBusy: number; slots: number } }>;
    const engineStats =
      options.engineStats ??
      (typeof backend.stats === 'function' ? () => backend.stats!() : undefined);
    return new QueueHub({
      tasks,
      apiKeys: options.apiKeys,
      settings: queueSettings(options.webSocket),
      log: this.logger.child({ component: 'queue' }),
      listenHost: this.#host,
      cancelRate: this.#cancelRate,
      completions: () => this.#completions(),
      slots: () => {
        const stats = engineStats?.();
        return stats === undefined ? null : { busy: stats.slotsBusy, total: stats.slots };
      },
    });
  }

  // The OpenAI completions in flight, for the queue's dashboard.
  #completions(): CompletionRow[] {
    const rows: CompletionRow[] = [];
    for (const { completion, requestId, principal } of this.#exchanges.keys()) {
      if (completion === undefined) continue;
      rows.push({
        request_id: requestId,
        model: completion.model,
        stream: completion.stream,
        started_at: new Date(completion.startedAt).toISOString(),
        owner: principal.user,
      });
    }
    return rows;
  }

  /** The URL the server listens on (`http://host:port`), once {@link listen} resolved. */
  get url(): string | undefined {
    return this.#url;
  }

  /** Requests being served right now. */
  get inFlight(): number {
    return this.#exchanges.size;
  }

  /** Starts listening; resolves with the URL (with the actual port when `port` was 0). */
  listen(): Promise<string> {
    if (this.#closing) return Promise.reject(new Error('OpenAIServer: closed'));
    if (this.#url) return Promise.resolve(this.#url);
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', onError);
        const { address, port } = this.#server.address() as AddressInfo;
        const host = address.includes(':') ? `[${address}]` : address;
        this.#url = `http://${host}:${port}`;
        resolve(this.#url);
      });
    });
  }

  /**
   * Stops accepting connections, kills every in-flight request with kind `shutdown` (streams
   * get an SSE `error` event), waits up to `shutdownGraceMs` for them to wind down, then
   * closes every socket. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    // WebSockets are connections the HTTP server no longer tracks: they close themselves (1001).
    const queueClosed = this.#queue?.close();
    for (const exchange of this.#exchanges.keys()) {
      exchange.context.kill({
        kind: 'shutdown',
        message: 'the server is shutting down',
        origin: FRONTEND_ORIGIN,
        at: preciseNow(),
      });
    }
    await settleWithin([...this.#exchanges.values()], this.#shutdownGraceMs);
    this.#server.closeAllConnections();
    await queueClosed;
    await closed;
  }

  #accept(req: IncomingMessage, res: ServerResponse): void {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const context = new Context({ id: requestId });
    const exchange: Exchange = {
      req,
      res,
      context,
      requestId,
      log: this.logger.child({ reqId: requestId }),
      principal: ANONYMOUS,
    };
    // The response, not the request, tells whether the client left: since Node 16 the
    // request closes as soon as its body is read (nodejs/node#33035).
    res.once('close', () => {
      if (res.writableFinished) return;
      context.kill({
        kind: 'disconnect',
        message: 'the client closed the connection before the response was complete',
        origin: FRONTEND_ORIGIN,
        at: preciseNow(),
      });
    });
    const served = this.#serve(exchange);
    this.#exchanges.set(exchange, served);
    void served.finally(() => this.#exchanges.delete(exchange));
  }

  async #serve(exchange: Exchange): Promise<void> {
    const { req, res } = exchange;
    const started = performance.now();
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const route =
      this.#routes.get(path) ??
      this.#modelRoute(path) ??
      this.#taskRoute(path) ??
      matchPauseRoute(path, this.#pausable);
    const endpoint = route?.endpoint ?? 'unmatched';
    this.metrics.inFlight.inc({ endpoint });
    let summary: ExchangeSummary = {};
    try {
      if (this.#closing) {
        sendError(res, new HttpError(503, 'the server is shutting down', { code: 'shutdown' }));
      } else if (!admitRequest(req, res, this.#host)) {
        // A preflight or a misdirected request: answered already.
      } else if (!this.#authenticated(exchange, path)) {
        // Answered 401 already.
      } else if (route === undefined) {
        sendError(
          res,
          new HttpError(404, `unknown request URL: ${req.method} ${path}`, {
            type: 'not_found_error',
            code: 'unknown_url',
          }),
        );
      } else if (req.method !== route.method) {
        res.setHeader('allow', route.method);
        sendError(
          res,
          new HttpError(405, `${path} accepts ${route.method}, not ${req.method}`, {
            code: 'method_not_allowed',
          }),
        );
      } else if ('task' in route) {
        await serveTaskRoute(route.task, exchange, this.#taskDeps!);
        if (route.task.watch) summary = { watching: true };
      } else if ('completion' in route) {
        summary = await serveCompletion(route.completion, exchange, this.#deps);
      } else {
        await route.handle(exchange);
      }
    } catch (error) {
      exchange.log.error({ err: error }, 'unexpected error while serving a request');
      sendError(res, new HttpError(500, 'internal error', { code: 'internal_error' }));
    } finally {
      this.#finish(exchange, endpoint, summary, performance.now() - started);
    }
  }

  #finish(
    exchange: Exchange,
    endpoint: string,
    summary: ExchangeSummary,
    durationMs: number,
  ): void {
    const { context, res, req } = exchange;
    const reason = context.isStopped() ? rootCause(context.reason!) : undefined;
    // 499 (nginx's "client closed request") when the client left; 503 when we shut down.
    const status =
      reason?.kind === 'disconnect'
        ? 499
        : reason !== undefined
          ? 503
          : (summary.status ?? res.statusCode);
    this.metrics.inFlight.dec({ endpoint });
    this.metrics.requests.inc({ endpoint, status: String(status) });
    const cancelled = reason !== undefined && !summary.watching;
    if (cancelled) {
      this.metrics.cancellations.inc({ tier: 'frontend', reason: reason.kind });
      this.#cancelRate.record();
    }
    const line = {
      method: req.method,
      path: req.url,
      endpoint,
      status,
      durationMs: Math.round(durationMs * 10) / 10,
      ...summary,
      ...(reason ? { cancelled: { kind: reason.kind, message: reason.message } } : {}),
    };
    const quiet = endpoint === '/metrics' || endpoint === '/health' || endpoint === '/live';
    if (summary.streamError !== undefined && !reason) {
      this.metrics.streamErrors.inc({ endpoint, code: summary.streamError.code ?? 'unknown' });
      exchange.log.error(line, 'stream failed after its headers');
    } else if (status >= 500 && !reason) exchange.log.error(line, 'request failed');
    else if (quiet) exchange.log.debug(line, 'request');
    else exchange.log.info(line, cancelled ? 'request cancelled' : 'request');
    context.dispose();
  }

  // Sets the exchange's principal, or answers 401 and returns false. Probes stay open, so
  // a load balancer needs no key; so does the dashboard page, which holds no data (its
  // WebSocket asks for the key).
  #authenticated(exchange: Exchange, path: string): boolean {
    if (path === '/live' || path === '/health' || isDashboardPath(path)) return true;
    try {
      exchange.principal = authenticate(exchange.req, this.#apiKeys);
      return true;
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      exchange.res.setHeader('www-authenticate', 'Bearer realm="andon"');
      sendError(exchange.res, error);
      return false;
    }
  }

  #taskRoute(path: string): Route | undefined {
    if (this.#taskDeps === undefined) return undefined;
    const task = matchTaskRoute(path);
    return task === undefined ? undefined : { endpoint: task.endpoint, method: task.method, task };
  }

  #modelRoute(path: string): Route | undefined {
    const handle = matchModelRoute(path, this.models, this.#startedAt);
    return handle === undefined
      ? undefined
      : { endpoint: '/v1/models/{id}', method: 'GET', handle };
  }

  #models(exchange: Exchange): void {
    sendJson(exchange.res, 200, modelList(this.models, this.#startedAt));
  }

  // Ready, not merely alive (that is /live): a load balancer must stop sending completions
  // here while they could only fail.
  #health(exchange: Exchange): void {
    const inFlight = this.#exchanges.size;
    if (this.#closing !== undefined) {
      sendJson(exchange.res, 503, { status: 'shutting_down', in_flight: inFlight });
      return;
    }
    const { ready, instances, reason } = readiness(this.#deps.backend);
    sendJson(exchange.res, ready ? 200 : 503, {
      status: ready ? 'ok' : 'no_instances',
      ...(instances === undefined ? {} : { instances }),
      ...(reason === undefined ? {} : { message: reason }),
      in_flight: inFlight,
    });
  }

  async #metrics(exchange: Exchange): Promise<void> {
    const body = await this.metrics.registry.metrics();
    if (exchange.res.headersSent || exchange.res.destroyed) return;
    exchange.res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
    exchange.res.end(body);
  }
}

// Waits for the promises, but never longer than `ms`; leaves no timer behind.
async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.allSettled(promises),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
