import {
  isTerminal,
  type TaskManager,
  type TaskRecord,
  type TaskWatch,
  WatcherLaggedError,
} from '@andon/tasks';
import { ProtocolError, type QueueServerMessage } from './protocol.js';
import { pushOf } from './request-state.js';

interface Follow {
  readonly task: TaskRecord;
  watch: TaskWatch;
  // `status: running` goes out once: from the change feed or from the read after following.
  runningSent: boolean;
}

/** Where follows register, so that the one change feed of the tasks reaches their sockets. */
export interface FollowIndex {
  add(id: string, follows: RequestFollows): void;
  delete(id: string, follows: RequestFollows): void;
}

/**
 * The requests one socket gets pushes for: `status: running` when one starts, a `progress`
 * for each of its events, and one `result` at the end, in that order. Each follow is a watch
 * of the task's events (so a follow that starts late replays from the store and misses
 * nothing); a socket that closes ends its watches and leaves the tasks alone.
 */
export class RequestFollows {
  readonly #tasks: TaskManager;
  readonly #send: (message: QueueServerMessage) => void;
  readonly #index: FollowIndex;
  readonly #max: number;
  readonly #follows = new Map<string, Follow>();
  #closed = false;

  constructor(
    tasks: TaskManager,
    send: (message: QueueServerMessage) => void,
    index: FollowIndex,
    max: number,
  ) {
    this.#tasks = tasks;
    this.#send = send;
    this.#index = index;
    this.#max = max;
  }

  /** How many requests are followed now. */
  get size(): number {
    return this.#follows.size;
  }

  /**
   * Follows `task` from its event `after`; `shownRunning` when the client already knows it
   * runs. A finished task is not followed (its client has its result).
   *
   * @throws ProtocolError when the socket follows too many requests already.
   */
  async follow(task: TaskRecord, after: number, shownRunning: boolean): Promise<void> {
    if (this.#closed || this.#follows.has(task.id) || isTerminal(task.status)) return;
    if (this.#follows.size >= this.#max) {
      throw new ProtocolError(
        `this socket follows ${this.#max} requests already; it gets no pushes for ${task.id}`,
        task.id,
      );
    }
    // The watch subscribes now, so nothing written from here on is missed; it is read only
    // after the status check below, so `status: running` comes before the first progress.
    const follow: Follow = {
      task,
      watch: this.#tasks.events(task.app, task.model, task.id, { after }),
      runningSent: shownRunning,
    };
    this.#follows.set(task.id, follow);
    this.#index.add(task.id, this);
    const now = await this.#tasks.find(task.id);
    if (now !== undefined) this.changed(now);
    void this.#pump(follow);
  }

  /** A followed task changed status (from the tasks' change feed). */
  changed(task: TaskRecord): void {
    const follow = this.#follows.get(task.id);
    if (follow === undefined || follow.runningSent) return;
    if (task.status === 'running') {
      follow.runningSent = true;
      this.#send({ type: 'status', request_id: task.id, status: 'running' });
    } else if (isTerminal(task.status)) {
      // It ended before it was seen running: the result says everything.
      follow.runningSent = true;
    }
  }

  /** Ends every watch; the tasks go on. */
  close(): void {
    this.#closed = true;
    for (const follow of [...this.#follows.values()]) this.#drop(follow);
  }

  async #pump(follow: Follow): Promise<void> {
    const { id } = follow.task;
    try {
      for (;;) {
        try {
          for await (const event of follow.watch) this.#send(pushOf(id, event));
          return;
        } catch (error) {
          // Too far behind its buffer: read on from the store where it stopped.
          if (!(error instanceof WatcherLaggedError) || this.#closed) return;
          const { app, model } = follow.task;
          follow.watch = this.#tasks.events(app, model, id, { after: error.resumeAfter });
        }
      }
    } catch {
      // The task was removed meanwhile (TaskNotFoundError): nothing more to push.
    } finally {
      this.#drop(follow);
    }
  }

  #drop(follow: Follow): void {
    const { id } = follow.task;
    if (this.#follows.get(id) !== follow) return;
    this.#follows.delete(id);
    this.#index.delete(id, this);
    void follow.watch.return();
  }
}
