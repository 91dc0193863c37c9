import type { TaskManager, TaskRecord } from '@andon/tasks';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { ApiKeys } from '../auth/api-keys.js';
import { ANONYMOUS, type Principal } from '../auth/principal.js';
import {
  ProtocolError,
  parseClientMessage,
  type QueueClientMessage,
  type QueueServerMessage,
} from './protocol.js';
import type { QueueSettings } from './queue-options.js';
import { ownedRequest, stopRequest } from './request-actions.js';
import { type FollowIndex, RequestFollows } from './request-follows.js';
import { requestState } from './request-state.js';

/** Close codes of the queue's sockets. */
export const CLOSE = {
  /** The server is closing. */
  goingAway: 1001,
  /** The client does not read its messages fast enough. */
  tryAgainLater: 1013,
  /** No, or a wrong, `auth` first message. */
  unauthorized: 4401,
} as const;

/** What a socket needs from the hub that accepted it. */
export interface SocketHub {
  readonly tasks: TaskManager;
  readonly apiKeys: ApiKeys | undefined;
  readonly settings: QueueSettings;
  readonly followIndex: FollowIndex;
  readonly log: Logger;
  /** The socket knows its user: it joins the broadcasts. */
  ready(socket: QueueSocket): void;
  /** The socket asked for `dashboard` messages. */
  watchDashboard(socket: QueueSocket): void;
  /** The socket closed. */
  gone(socket: QueueSocket): void;
}

// A socket closed for a slow reader gets this long to take its close frame, then is cut.
const TERMINATE_AFTER_MS = 1_000;

/**
 * One client of `/v1/ws`: authenticates it (by its first message when the server has API
 * keys), answers its messages one at a time in the order they came (a cancel right after a
 * submit finds the request), and pushes what its requests do. Closing it, from either side,
 * ends its watches and timers and never cancels a request.
 */
export class QueueSocket {
  readonly #ws: WebSocket;
  readonly #hub: SocketHub;
  readonly #follows: RequestFollows;
  /** Resolves once the connection is closed and everything of the socket released. */
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  #principal: Principal | undefined;
  #authTimer: ReturnType<typeof setTimeout> | undefined;
  #terminateTimer: ReturnType<typeof setTimeout> | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(ws: WebSocket, hub: SocketHub) {
    this.#ws = ws;
    this.#hub = hub;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#follows = new RequestFollows(
      hub.tasks,
      (message) => this.send(message),
      hub.followIndex,
      hub.settings.maxFollowed,
    );
    ws.on('message', (data, isBinary) => this.#receive(data, isBinary));
    ws.on('close', () => this.#gone());
    // ws closes the socket itself after a protocol error (1002, 1009 too big): log only.
    ws.on('error', (error) => hub.log.debug({ err: error }, 'queue socket error'));
    if (hub.apiKeys === undefined) {
      this.#principal = ANONYMOUS;
      hub.ready(this);
    } else {
      const seconds = hub.settings.authTimeoutMs / 1000;
      this.#authTimer = setTimeout(
        () => this.close(CLOSE.unauthorized, `no auth message within ${seconds} s`),
        hub.settings.authTimeoutMs,
      );
    }
  }

  /** Who the socket is, once authenticated. */
  get principal(): Principal | undefined {
    return this.#principal;
  }

  /** Requests this socket gets pushes for. */
  get follows(): RequestFollows {
    return this.#follows;
  }

  /** Sends a message if the socket is open. */
  send(message: QueueServerMessage): void {
    this.sendText(JSON.stringify(message));
  }

  /**
   * Sends an already serialized message. A socket whose unsent data grows past
   * `maxBufferedBytes` is closed (1013) instead of buffering without bound.
   */
  sendText(text: string): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(text);
    const buffered = this.#ws.bufferedAmount;
    if (buffered > this.#hub.settings.maxBufferedBytes) {
      this.#hub.log.warn(
        { code: CLOSE.tryAgainLater, buffered, user: this.#principal?.user },
        'queue socket closed: its client does not read its messages',
      );
      this.close(CLOSE.tryAgainLater, 'too many unread messages: read faster, then reconnect');
    }
  }

  /**
   * Closes with `code` and `reason` (at most 123 bytes); a client that does not answer
   * the close within a second is cut off.
   */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
    this.#ws.close(code, reason);
    this.#terminateTimer = setTimeout(() => this.#ws.terminate(), TERMINATE_AFTER_MS);
  }

  /** Cuts the connection at once (the server is closing and the grace is over). */
  terminate(): void {
    this.#ws.terminate();
  }

  #receive(data: RawData, isBinary: boolean): void {
    if (this.#closed) return;
    const text = isBinary ? undefined : rawText(data);
    if (this.#principal === undefined) {
      this.#authenticate(text);
      return;
    }
    let message: QueueClientMessage;
    try {
      if (text === undefined) throw new ProtocolError('send JSON text frames, not binary ones');
      message = parseClientMessage(text);
    } catch (error) {
      this.#answerError(error);
      return;
    }
    this.#queue = this.#queue
      .then(() => this.#handle(message))
      .catch((error: unknown) => this.#answerError(error));
  }

  #authenticate(text: string | undefined): void {
    let message: QueueClientMessage | undefined;
    try {
      message = text === undefined ? undefined : parseClientMessage(text);
    } catch {
      message = undefined;
    }
    if (message?.type !== 'auth') {
      this.close(CLOSE.unauthorized, 'the first message must be {"type":"auth","api_key":KEY}');
      return;
    }
    const principal = this.#hub.apiKeys?.lookup(message.api_key);
    if (principal === undefined) {
      this.close(CLOSE.unauthorized, 'the API key is not valid');
      return;
    }
    clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
    this.#principal = principal;
    this.send({ type: 'authenticated', user: principal.user, admin: principal.admin });
    this.#hub.ready(this);
  }

  async #handle(message: QueueClientMessage): Promise<void> {
    if (this.#closed) return;
    const principal = this.#principal!;
    const { tasks } = this.#hub;
    switch (message.type) {
      case 'auth':
        return this.#reauthenticate(message.api_key, principal);
      case 'submit':
        return this.#submit(message.kind, message.input, message.request_id, principal);
      case 'cancel_request':
        this.send(await stopRequest(tasks, principal, message.request_id, undefined));
        return;
      case 'interrupt':
        this.send(await stopRequest(tasks, principal, message.request_id, message.context));
        return;
      case 'status':
        return this.#status(message.request_ids, principal);
      case 'watch_dashboard':
        this.#hub.watchDashboard(this);
        return;
    }
  }

  // Another `auth` on an authenticated socket: the same user is confirmed; a socket keeps
  // the user it started with (open another socket for another key).
  #reauthenticate(key: string, principal: Principal): void {
    const again = this.#hub.apiKeys === undefined ? ANONYMOUS : this.#hub.apiKeys.lookup(key);
    if (again === undefined) throw new ProtocolError('the API key is not valid');
    if (again.user !== principal.user) {
      throw new ProtocolError(
        `this socket is authenticated as ${principal.user}; open another socket for another key`,
      );
    }
    this.send({ type: 'authenticated', user: principal.user, admin: principal.admin });
  }

  async #submit(
    kind: string,
    input: unknown,
    requestId: string | undefined,
    principal: Principal,
  ): Promise<void> {
    const [app, model] = kind.split('/') as [string, string];
    let task: TaskRecord;
    try {
      task = await this.#hub.tasks.create(app, model, input, {
        ...(requestId === undefined ? {} : { id: requestId }),
        owner: principal.user,
      });
    } catch (error) {
      throw new ProtocolError(submitError(error), requestId);
    }
    const position = this.#hub.tasks.position(task.id);
    this.send({ type: 'queued', request_id: task.id, kind, position });
    await this.#follows.follow(task, 0, false);
  }

  async #status(ids: readonly string[] | undefined, principal: Principal): Promise<void> {
    const { tasks, settings } = this.#hub;
    if (ids !== undefined && ids.length > settings.maxFollowed) {
      throw new ProtocolError(`ask for at most ${settings.maxFollowed} request_ids at once`);
    }
    const errors: ProtocolError[] = [];
    let found: TaskRecord[];
    if (ids === undefined) {
      found = await tasks.list({ owner: principal.user, limit: settings.maxFollowed });
    } else {
      found = [];
      for (const id of new Set(ids)) {
        try {
          found.push(await ownedRequest(tasks, principal, id));
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          errors.push(error);
        }
      }
    }
    this.send({
      type: 'requests',
      requests: found.map((task) => requestState(task, tasks.position(task.id))),
    });
    for (const error of errors) this.#answerError(error);
    for (const task of found) {
      try {
        await this.#follows.follow(task, task.lastSeq, task.status === 'running');
      } catch (error) {
        this.#answerError(error);
      }
    }
  }

  #answerError(error: unknown): void {
    if (error instanceof ProtocolError) {
      this.send({
        type: 'error',
        ...(error.requestId === undefined ? {} : { request_id: error.requestId }),
        error: error.message,
      });
      return;
    }
    this.#hub.log.error({ err: error }, 'queue socket: unexpected error');
    this.send({ type: 'error', error: `internal error: ${(error as Error)?.message ?? error}` });
  }

  #gone(): void {
    this.#closed = true;
    this.#release();
    clearTimeout(this.#terminateTimer);
    this.#hub.gone(this);
    this.#resolveClosed();
  }

  #release(): void {
    clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
    this.#follows.close();
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

// What the client needs to hear about a refused submit: the tasks' own messages are written
// for people; a bad chosen id is reported as the field the client sent.
function submitError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^TaskManager\.create\(…, \{ id \}\): id\b/, 'request_id');
}
