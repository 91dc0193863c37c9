import {
  isTerminal,
  TASK_STATUSES,
  type TaskManager,
  type TaskRecord,
  type TaskStatus,
} from '@andon/tasks';
import { mayAccess } from '../auth/principal.js';
import { readJsonBody } from '../http/body.js';
import type { Exchange } from '../http/exchange.js';
import { requireJson } from '../http/request-guard.js';
import { sendError, sendJson } from '../http/respond.js';
import { HttpError, invalidParam } from '../openai/errors.js';
import { httpErrorOfTasks, RETRY_AFTER_S } from './task-errors.js';
import { streamTaskEvents } from './task-events.js';
import { taskJson } from './task-json.js';

/** What the task routes need from the server. */
export interface TaskRouteDeps {
  readonly tasks: TaskManager;
  readonly maxBodyBytes: number;
  readonly heartbeatMs: number;
}

/** A matched task route: its label for logs and metrics, its method, and its handler. */
export interface TaskRoute {
  readonly endpoint: string;
  readonly method: 'GET' | 'POST';
  /** An event stream: a client that leaves it stops watching, it cancels nothing. */
  readonly watch?: true;
  handle(exchange: Exchange, deps: TaskRouteDeps): Promise<void>;
}

/**
 * Matches the task API:
 * - `GET  /v1/tasks` (`?status=&app=&model=&limit=`), `GET /v1/tasks/{id}`
 * - `POST /v1/tasks/{app}/{model}` with the input as the JSON body → 201
 * - `GET  /v1/tasks/{app}/{model}/{id}`, `POST …/{id}/cancel`, `GET …/{id}/events` (SSE)
 * - `GET  /stream/{app}/{model}/{id}`: the same event stream under the path of the
 *   streaming coordinators this API follows.
 * - `POST /v1/reset` (admins): cancels every queued task.
 *
 * A task belongs to the user who created it: only they or an admin may see or cancel it.
 */
export function matchTaskRoute(path: string): TaskRoute | undefined {
  const parts = path.split('/').filter((part) => part !== '');
  if (parts[0] === 'stream' && parts.length === 4) {
    const [, app, model, id] = parts.map(decode);
    return {
      endpoint: '/stream/{app}/{model}/{id}',
      method: 'GET',
      watch: true,
      handle: (ex, deps) => streamEvents(ex, deps, app!, model!, id!),
    };
  }
  if (parts.length === 2 && parts[0] === 'v1' && parts[1] === 'reset') {
    return { endpoint: '/v1/reset', method: 'POST', handle: resetQueue };
  }
  if (parts[0] !== 'v1' || parts[1] !== 'tasks') return undefined;
  const [app, model, id, action] = parts.slice(2).map(decode);
  switch (parts.length) {
    case 2:
      return { endpoint: '/v1/tasks', method: 'GET', handle: listTasks };
    case 3:
      return {
        endpoint: '/v1/tasks/{id}',
        method: 'GET',
        handle: (ex, deps) => findTask(ex, deps, app!),
      };
    case 4:
      return {
        endpoint: '/v1/tasks/{app}/{model}',
        method: 'POST',
        handle: (ex, deps) => createTask(ex, deps, app!, model!),
      };
    case 5:
      return {
        endpoint: '/v1/tasks/{app}/{model}/{id}',
        method: 'GET',
        handle: (ex, deps) => getTask(ex, deps, app!, model!, id!),
      };
    case 6:
      if (action === 'cancel') {
        return {
          endpoint: '/v1/tasks/{app}/{model}/{id}/cancel',
          method: 'POST',
          handle: (ex, deps) => cancelTask(ex, deps, app!, model!, id!),
        };
      }
      if (action === 'events') {
        return {
          endpoint: '/v1/tasks/{app}/{model}/{id}/events',
          method: 'GET',
          watch: true,
          handle: (ex, deps) => streamEvents(ex, deps, app!, model!, id!),
        };
      }
      return undefined;
    default:
      return undefined;
  }
}

/**
 * Runs a task handler, answering errors of `@andon/tasks` with their HTTP status (404 for an
 * unknown kind or task, 400 for refused input, 409, 429 / 503 with `Retry-After`).
 */
export async function serveTaskRoute(
  route: TaskRoute,
  exchange: Exchange,
  deps: TaskRouteDeps,
): Promise<void> {
  try {
    await route.handle(exchange, deps);
  } catch (error) {
    const answer = error instanceof HttpError ? error : httpErrorOfTasks(error);
    if (answer === undefined) throw error;
    if (answer.status === 429 || answer.status === 503) {
      exchange.res.setHeader('retry-after', String(RETRY_AFTER_S));
    }
    sendError(exchange.res, answer);
  }
}

async function listTasks(exchange: Exchange, deps: TaskRouteDeps): Promise<void> {
  const query = queryOf(exchange);
  const status = query.getAll('status').flatMap((value) => value.split(','));
  for (const value of status) {
    if (!(TASK_STATUSES as readonly string[]).includes(value)) {
      throw invalidParam(
        'status',
        `status must be one of ${TASK_STATUSES.join(', ')}; got ${JSON.stringify(value)}`,
      );
    }
  }
  const limit = optionalWhole(query.get('limit'), 'limit', 1, 10_000) ?? 100;
  const { principal } = exchange;
  const tasks = await deps.tasks.list({
    ...(principal.admin ? {} : { owner: principal.user }),
    ...(status.length === 0 ? {} : { status: status as TaskStatus[] }),
    ...optionalField('app', query.get('app')),
    ...optionalField('model', query.get('model')),
    limit,
  });
  sendJson(exchange.res, 200, { object: 'list', data: tasks.map(taskJson) });
}

async function findTask(exchange: Exchange, deps: TaskRouteDeps, id: string): Promise<void> {
  const task = await deps.tasks.find(id);
  if (task === undefined) throw notFound(id);
  checkAccess(exchange, task);
  sendJson(exchange.res, 200, taskJson(task));
}

async function createTask(
  exchange: Exchange,
  deps: TaskRouteDeps,
  app: string,
  model: string,
): Promise<void> {
  requireJson(exchange.req);
  const input = await readJsonBody(exchange.req, deps.maxBodyBytes);
  const task = await deps.tasks.create(app, model, input, { owner: exchange.principal.user });
  exchange.res.setHeader('location', `/v1/tasks/${app}/${model}/${task.id}`);
  const { id, status, created_at } = taskJson(task);
  sendJson(exchange.res, 201, { id, object: 'task', app, model, status, created_at });
}

async function getTask(
  exchange: Exchange,
  deps: TaskRouteDeps,
  app: string,
  model: string,
  id: string,
): Promise<void> {
  const task = await accessibleTask(exchange, deps, app, model, id);
  sendJson(exchange.res, 200, taskJson(task));
}

async function cancelTask(
  exchange: Exchange,
  deps: TaskRouteDeps,
  app: string,
  model: string,
  id: string,
): Promise<void> {
  const reason = await cancelReasonOf(exchange, deps);
  await accessibleTask(exchange, deps, app, model, id);
  const cancelled = await deps.tasks.cancelTask(app, model, id, {
    reason: reason ?? 'cancelled through the HTTP API',
  });
  sendJson(exchange.res, 200, { cancelled });
}

async function streamEvents(
  exchange: Exchange,
  deps: TaskRouteDeps,
  app: string,
  model: string,
  id: string,
): Promise<void> {
  const task = await accessibleTask(exchange, deps, app, model, id);
  const after = resumePoint(exchange);
  // An EventSource that already saw the end would reconnect forever; 204 tells it to stop.
  if (isTerminal(task.status) && after >= task.lastSeq) {
    exchange.res.writeHead(204).end();
    return;
  }
  await streamTaskEvents(exchange, deps.tasks, task, after, deps.heartbeatMs);
}

// `Last-Event-ID` (what an EventSource sends when it reconnects) wins over `?after=`.
function resumePoint(exchange: Exchange): number {
  const header = exchange.req.headers['last-event-id'];
  if (typeof header === 'string' && header.trim() !== '') {
    return optionalWhole(header.trim(), 'Last-Event-ID', 0, Number.MAX_SAFE_INTEGER)!;
  }
  return optionalWhole(queryOf(exchange).get('after'), 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0;
}

async function cancelReasonOf(
  exchange: Exchange,
  deps: TaskRouteDeps,
): Promise<string | undefined> {
  const length = exchange.req.headers['content-length'];
  const chunked = exchange.req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || length === '0')) {
    exchange.req.resume();
    return undefined;
  }
  requireJson(exchange.req);
  const body = await readJsonBody(exchange.req, deps.maxBodyBytes);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidParam(
      'body',
      'the body of a cancel is optional; when given it must be a JSON object such as {"reason":"…"}',
    );
  }
  const { reason } = body as { reason?: unknown };
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string' || reason.length > 500) {
    throw invalidParam('reason', 'reason must be a string of at most 500 characters');
  }
  return reason;
}

async function resetQueue(exchange: Exchange, deps: TaskRouteDeps): Promise<void> {
  if (!exchange.principal.admin) {
    throw new HttpError(403, 'only an admin may reset the queue', {
      type: 'permission_error',
      code: 'admin_only',
    });
  }
  exchange.req.resume();
  const cancelled = await deps.tasks.cancelQueued({
    kind: 'stop',
    message: `Cancelled by a queue reset (${exchange.principal.user})`,
  });
  sendJson(exchange.res, 200, { cancelled });
}

// The task, if it exists (404) and the caller may see it (403).
async function accessibleTask(
  exchange: Exchange,
  deps: TaskRouteDeps,
  app: string,
  model: string,
  id: string,
): Promise<TaskRecord> {
  const task = await deps.tasks.get(app, model, id);
  if (task === undefined) throw notFound(id, app, model);
  checkAccess(exchange, task);
  return task;
}

// Someone else's task is 403, not 404: the id is not a secret, the task's content is.
function checkAccess(exchange: Exchange, task: TaskRecord): void {
  if (mayAccess(exchange.principal, task.owner)) return;
  throw new HttpError(403, `task ${task.id} belongs to another user`, {
    type: 'permission_error',
    code: 'not_owner',
  });
}

function notFound(id: string, app?: string, model?: string): HttpError {
  const what = app === undefined ? `task ${id}` : `task ${app}/${model}/${id}`;
  return new HttpError(
    404,
    `no ${what} (it never existed, or it finished longer ago than the server keeps tasks)`,
    { type: 'not_found_error', code: 'task_not_found' },
  );
}

function queryOf(exchange: Exchange): URLSearchParams {
  return new URL(exchange.req.url ?? '/', 'http://localhost').searchParams;
}

function optionalWhole(
  value: string | null,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === null) return undefined;
  const n = Number(value);
  if (value === '' || !Number.isInteger(n) || n < min || n > max) {
    throw invalidParam(
      name,
      `${name} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

function optionalField<K extends string>(key: K, value: string | null): { [P in K]?: string } {
  return (value === null ? {} : { [key]: value }) as { [P in K]?: string };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
