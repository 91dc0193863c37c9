import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { isTerminal, type TaskManager, type TaskRecord } from '@andon/tasks';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { ApiKeys } from '../auth/api-keys.js';
import type { Subscription } from '../subscription.js';
import type { CancelRate } from './cancel-rate.js';
import { DashboardSnapshot } from './dashboard-view.js';
import type { CompletionRow } from './protocol.js';
import type { QueueSettings } from './queue-options.js';
import { CLOSE, QueueSocket, type SocketHub } from './queue-socket.js';
import { QueueUpdates, queueView } from './queue-update.js';
import type { RequestFollows } from './request-follows.js';
import { refusalOf, refuseUpgrade } from './upgrade-guard.js';

/** What the hub needs from the server it serves on. */
export interface QueueHubSetup {
  readonly tasks: TaskManager;
  readonly apiKeys: ApiKeys | undefined;
  readonly settings: QueueSettings;
  readonly log: Logger;
  /** The host the server listens on (Host checks on loopback). */
  readonly listenHost: string;
  readonly cancelRate: CancelRate;
  completions(): CompletionRow[];
  slots(): { busy: number; total: number } | null;
}

// How long close() lets clients answer the 1001 close frame before cutting them off.
const CLOSE_GRACE_MS = 1_000;

/**
 * The request queue's WebSocket endpoint: accepts upgrades to `/v1/ws`, keeps the sockets,
 * and fans out what they share: `queue_update` (every `updateIntervalMs`, and once per tick
 * in which the queue changed, however many changes that tick had), `dashboard` to the
 * sockets that asked (every `dashboardIntervalMs`), and each task change to the sockets that
 * follow that task. One change-feed subscription serves every socket.
 */
export class QueueHub implements SocketHub {
  readonly tasks: TaskManager;
  readonly apiKeys: ApiKeys | undefined;
  readonly settings: QueueSettings;
  readonly log: Logger;
  readonly #setup: QueueHubSetup;
  readonly #wss: WebSocketServer;
  readonly #sockets = new Set<QueueSocket>();
  readonly #ready = new Set<QueueSocket>();
  readonly #dashboards = new Set<QueueSocket>();
  readonly #followers = new Map<string, Set<RequestFollows>>();
  // Tasks seen to finish while their handler may still hold the slot (see queueView).
  readonly #ended = new Set<string>();
  readonly #changes: Subscription;
  #updateTimer: ReturnType<typeof setInterval> | undefined;
  #dashboardTimer: ReturnType<typeof setInterval> | undefined;
  #updatePending: ReturnType<typeof setImmediate> | undefined;
  #closing: Promise<void> | undefined;

  readonly followIndex = {
    add: (id: string, follows: RequestFollows) => {
      let set = this.#followers.get(id);
      if (set === undefined) this.#followers.set(id, (set = new Set()));
      set.add(follows);
    },
    delete: (id: string, follows: RequestFollows) => {
      const set = this.#followers.get(id);
      if (set?.delete(follows) && set.size === 0) this.#followers.delete(id);
    },
  };

  constructor(setup: QueueHubSetup) {
    this.#setup = setup;
    this.tasks = setup.tasks;
    this.apiKeys = setup.apiKeys;
    this.settings = setup.settings;
    this.log = setup.log;
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: setup.settings.maxMessageBytes,
      // Small JSON messages to many sockets: compression would cost CPU and memory per socket.
      perMessageDeflate: false,
    });
    this.#changes = setup.tasks.onTaskChange((task) => this.#changed(task));
  }

  /** Sockets open now (authenticated or not). */
  get size(): number {
    return this.#sockets.size;
  }

  /** Handles an HTTP upgrade: `/v1/ws` becomes a queue socket, anything else is refused. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refusal = this.#closing
      ? { status: 503, message: 'the server is shutting down' }
      : refusalOf(req, this.#setup.listenHost);
    if (refusal !== undefined) {
      refuseUpgrade(socket, refusal);
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.#closing) {
        ws.close(CLOSE.goingAway, 'the server is shutting down');
        return;
      }
      this.#sockets.add(new QueueSocket(ws, this));
    });
  }

  ready(socket: QueueSocket): void {
    this.#ready.add(socket);
    this.#updateTimer ??= setInterval(
      () => this.#broadcastUpdate(),
      this.settings.updateIntervalMs,
    );
    // A new socket learns the queue at once rather than at the next tick.
    socket.sendText(
      new QueueUpdates(queueView(this.tasks, this.#ended)).textFor(socket.principal!),
    );
  }

  watchDashboard(socket: QueueSocket): void {
    this.#dashboards.add(socket);
    this.#dashboardTimer ??= setInterval(
      () => void this.#sendDashboards([...this.#dashboards]),
      this.settings.dashboardIntervalMs,
    );
    void this.#sendDashboards([socket]);
  }

  gone(socket: QueueSocket): void {
    this.#sockets.delete(socket);
    this.#ready.delete(socket);
    this.#dashboards.delete(socket);
    if (this.#dashboards.size === 0) {
      clearInterval(this.#dashboardTimer);
      this.#dashboardTimer = undefined;
    }
    if (this.#ready.size === 0) {
      clearInterval(this.#updateTimer);
      this.#updateTimer = undefined;
    }
  }

  /**
   * Closes every socket with 1001, cuts those that do not answer within a second, and
   * releases the timers and the change-feed subscription. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#changes.dispose();
    clearInterval(this.#updateTimer);
    clearInterval(this.#dashboardTimer);
    if (this.#updatePending !== undefined) clearImmediate(this.#updatePending);
    this.#updateTimer = this.#dashboardTimer = this.#updatePending = undefined;
    const sockets = [...this.#sockets];
    for (const socket of sockets) socket.close(CLOSE.goingAway, 'the server is shutting down');
    const gone = sockets.map((socket) => socket.closed);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(gone),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    for (const socket of this.#sockets) socket.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #changed(task: TaskRecord): void {
    if (isTerminal(task.status)) {
      if (task.status === 'cancelled') this.#setup.cancelRate.record();
      // Only one whose handler still holds a slot needs remembering (see queueView).
      if (this.tasks.queue().running.some((run) => run.id === task.id)) {
        this.#ended.add(task.id);
      }
    }
    for (const follows of this.#followers.get(task.id) ?? []) follows.changed(task);
    // Without sockets no broadcast prunes it: keep it small here.
    if (this.#ended.size > 64) this.#forgetEnded();
    this.#scheduleUpdate();
  }

  // Every change of one tick makes one queue_update, sent once the tick's work is done.
  #scheduleUpdate(): void {
    if (this.#updatePending !== undefined || this.#ready.size === 0 || this.#closing) return;
    this.#updatePending = setImmediate(() => {
      this.#updatePending = undefined;
      this.#broadcastUpdate();
    });
  }

  #broadcastUpdate(): void {
    this.#forgetEnded();
    const view = queueView(this.tasks, this.#ended);
    const updates = new QueueUpdates(view);
    for (const socket of this.#ready) socket.sendText(updates.textFor(socket.principal!));
  }

  // Forgets the finished tasks that gave their slot back.
  #forgetEnded(): void {
    if (this.#ended.size === 0) return;
    const holding = new Set(this.tasks.queue().running.map((task) => task.id));
    for (const id of this.#ended) if (!holding.has(id)) this.#ended.delete(id);
  }

  async #sendDashboards(sockets: QueueSocket[]): Promise<void> {
    if (sockets.length === 0) return;
    const snapshot = new DashboardSnapshot({
      tasks: this.tasks,
      ended: this.#ended,
      completions: () => this.#setup.completions(),
      slots: () => this.#setup.slots(),
      cancellationsPerSecond: () => this.#setup.cancelRate.perSecond(),
    });
    try {
      for (const socket of sockets) socket.sendText(await snapshot.textFor(socket.principal!));
    } catch (error) {
      // The store closed under us (shutdown); the next tick, if any, tries again.
      if (!this.#closing) this.log.warn({ err: error }, 'queue: the dashboard could not be read');
    }
  }
}
