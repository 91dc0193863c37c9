import {
  type CancelReason,
  type Clock,
  createReason,
  type Subscription,
  systemClock,
} from '@andon/context';
import {
  QueueFullError,
  ShuttingDownError,
  TaskInputError,
  TaskNotFoundError,
  UnknownKindError,
} from './errors.js';
import type { Kind, KindOptions, TaskHandler } from './kind.js';
import { MemoryStore } from './memory-store.js';
import { checkKindName, checkTaskId, isTaskId } from './names.js';
import { nonNegativeInteger, nonNegativeNumber, positiveNumber } from './option-checks.js';
import { isSharedStore, type SharedTaskStore } from './shared-store.js';
import type { TaskStore } from './store.js';
import { isTerminal, type TaskFilter, type TaskRecord } from './task.js';
import { cancelReason, endingOfStop, finalize, TaskRun } from './task-run.js';
import { TaskWatch } from './watch.js';

/** Options of {@link TaskManager.open}. All are optional. */
export interface TaskManagerOptions {
  /** Where tasks and events live. Default: a new {@link MemoryStore}. The manager closes it on shutdown. */
  store?: TaskStore;
  /** Tasks of one kind running at once, unless the kind says otherwise. Default 4; 0 (with a shared store only): run none here. */
  concurrency?: number;
  /** Tasks of one kind allowed to wait, unless the kind says otherwise. Default 1 000. */
  maxQueued?: number;
  /** How long finished tasks and their events are kept, unless the kind says otherwise. Default 1 hour. */
  keepForMs?: number;
  /** Live events a watcher may fall behind before it is dropped (see {@link TaskManager.events}). Default 1 024. */
  watchBufferSize?: number;
  /** How often expired tasks are removed. Default 60 000. */
  sweepIntervalMs?: number;
  /** Time source for timestamps, timeouts and expiry. Default: the system clock. */
  clock?: Clock;
}

/** Options of {@link TaskManager.create}. */
export interface CreateOptions {
  /** The task's id; default a UUID. Ids are unique across kinds. */
  id?: string;
  /** Who creates it (an API key's user); only recorded here, checked by the faces. */
  owner?: string;
}

/** Options of {@link TaskManager.cancelTask}. */
export interface CancelOptions {
  /** Why: a message, or any part of a reason (default kind `stop`). */
  reason?: string | Partial<CancelReason>;
  /** Resolve only after the handler returned and the finalizers ran. */
  wait?: boolean;
}

/** Options of {@link TaskManager.events}. */
export interface WatchOptions {
  /** Start after this `seq` (a `Last-Event-ID`); default 0, every event. */
  after?: number;
  /** Overrides the manager's `watchBufferSize` for this watcher. */
  bufferSize?: number;
}

/** What waits and runs, from {@link TaskManager.queue}. */
export interface QueueSnapshot {
  /** Waiting tasks, in submit order over all kinds. */
  readonly queued: readonly TaskRecord[];
  /**
   * Running tasks, as they were created (their store record has the rest); with a shared
   * store, as they started.
   */
  readonly running: readonly TaskRecord[];
}

/** What {@link TaskManager.stats} reports for one kind. */
export interface KindStats {
  readonly app: string;
  readonly model: string;
  readonly queued: number;
  readonly running: number;
  readonly concurrency: number;
}

interface KindState {
  readonly kind: Kind;
  // Insertion order is submit order; a cancelled task leaves in O(1). Empty with a shared
  // store, whose queue is the store's.
  readonly queue: Map<string, TaskRecord>;
  running: number;
  // A shared store's queue is taken from one task at a time per kind.
  taking: boolean;
}

const ORPHAN_MESSAGE =
  'the process that ran this task ended before the task finished (crash or kill); marked failed at restart';

function lostMessage(livenessMs: number): string {
  return `the process running this task went silent for more than ${livenessMs} ms (crash, kill or cut off); marked failed`;
}

/**
 * Runs tasks: work that outlives the request that started it, watched by any number of
 * clients, cancelled from anywhere.
 *
 * What it guarantees:
 * - A task is `queued`, then `running`, then exactly one of `completed`, `failed`,
 *   `cancelled`, `timed_out`, even when a cancel, its timeout and its handler's end race.
 *   The terminal status and the terminal event are written together.
 * - Every watcher receives every event in `seq` order and exactly one terminal event, last;
 *   then its iteration ends. Late joiners replay from the store first.
 * - A cancel lands at once for every watcher: the `cancelled` event is written when
 *   `cancelTask` is called, not when the handler gets round to stopping. The handler's
 *   Context is stopped at the same moment; a handler still running `killAfterMs` later has
 *   it killed. Its slot is held until the handler has returned.
 * - A task cancelled while queued never runs, still gets its `cancelled` event, and its
 *   kind's `finalize` runs.
 * - A task keeps running when every watcher leaves.
 * - On open, tasks a crashed process left `queued` or `running` are marked `failed`.
 *
 * On a {@link SharedTaskStore} (`@andon/tasks/jetstream`) several managers, in several
 * processes, work as one: a task created on any of them waits in one queue, in submit
 * order, and is taken by whichever has a free slot for its kind (a kind defined with
 * `concurrency: 0` is created here but run elsewhere); a cancel on any of them stops the
 * handler wherever it runs, with its reason; every watcher anywhere gets the events.
 * A process that dies while running tasks has them marked `failed` once it has been
 * silent for the store's `livenessMs`, plus at most half that again. Shutting one
 * manager down leaves the shared queue to the others.
 *
 * @example
 * const tasks = await TaskManager.open();
 * tasks.define('demo', 'Count', async function* ({ n }, ctx) {
 *   for (let i = 1; i <= n; i++) { await sleep(10, ctx); yield { step: i }; }
 *   return n;
 * });
 * const task = await tasks.create('demo', 'Count', { n: 3 });
 * for await (const event of tasks.events('demo', 'Count', task.id)) console.log(event.type);
 * // progress, progress, progress, complete
 * await tasks.shutdown();
 */
export class TaskManager {
  readonly store: TaskStore;
  readonly #clock: Clock;
  readonly #defaults: { concurrency: number; maxQueued: number; keepForMs: number };
  readonly #watchBufferSize: number;
  readonly #sweepIntervalMs: number;
  readonly #kinds = new Map<string, KindState>();
  readonly #runs = new Map<string, TaskRun>();
  // Every queued task of every kind, in submit order (a Map keeps insertion order).
  readonly #queued = new Map<string, TaskRecord>();
  readonly #pendingFinalizers = new Set<Promise<void>>();
  readonly #shared: SharedTaskStore | undefined;
  #sharedWatch: Subscription | undefined;
  #lostTimer: unknown;
  #sweepTimer: unknown;
  #closing: Promise<void> | undefined;

  /**
   * Opens a manager on its store: tasks that a previous process left `queued` or `running`
   * are marked `failed` first, then expired tasks are swept every `sweepIntervalMs`.
   */
  static async open(options: TaskManagerOptions = {}): Promise<TaskManager> {
    const manager = new TaskManager(options);
    if (manager.#shared === undefined) {
      const now = manager.#clock.now();
      await manager.store.failUnfinished(
        ORPHAN_MESSAGE,
        now,
        () => now + manager.#defaults.keepForMs,
      );
    } else {
      // Other processes' tasks are theirs until they go silent.
      manager.#sharedWatch = manager.store.watchTasks((task) => manager.#onSharedChange(task));
      await manager.#failLost();
    }
    await manager.sweep();
    return manager;
  }

  private constructor(options: TaskManagerOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('TaskManager.open(options): options must be an object');
    }
    this.store = options.store ?? new MemoryStore();
    this.#shared = isSharedStore(this.store) ? this.store : undefined;
    this.#clock = options.clock ?? systemClock;
    const option = (name: string) => `TaskManager.open(options): options.${name}`;
    this.#defaults = {
      concurrency:
        this.#shared === undefined
          ? positiveNumber(option('concurrency'), options.concurrency ?? 4)
          : nonNegativeNumber(option('concurrency'), options.concurrency ?? 4),
      maxQueued: nonNegativeNumber(option('maxQueued'), options.maxQueued ?? 1_000),
      keepForMs: nonNegativeNumber(option('keepForMs'), options.keepForMs ?? 3_600_000),
    };
    this.#watchBufferSize = positiveNumber(
      option('watchBufferSize'),
      options.watchBufferSize ?? 1_024,
    );
    this.#sweepIntervalMs = positiveNumber(
      option('sweepIntervalMs'),
      options.sweepIntervalMs ?? 60_000,
    );
  }

  /**
   * Defines the kind `app/model`. Define each kind once, before creating its tasks.
   *
   * @throws TypeError for a bad name, a kind defined twice, or bad options.
   */
  define<Input = unknown, Result = unknown>(
    app: string,
    model: string,
    handler: TaskHandler<Input, Result>,
    options: KindOptions<Input> = {},
  ): void {
    const where = 'TaskManager.define(app, model, handler, options)';
    checkKindName(where, 'app', app);
    checkKindName(where, 'model', model);
    if (typeof handler !== 'function') throw new TypeError(`${where}: handler must be a function`);
    if (this.#kinds.has(`${app}/${model}`)) {
      throw new TypeError(`${where}: the kind ${app}/${model} is defined already`);
    }
    const option = (name: string) => `${where}: options.${name}`;
    const concurrency = options.concurrency ?? this.#defaults.concurrency;
    const kind: Kind = {
      app,
      model,
      handler: handler as TaskHandler,
      timeoutMs:
        options.timeoutMs === undefined
          ? undefined
          : positiveNumber(option('timeoutMs'), options.timeoutMs),
      concurrency:
        this.#shared === undefined
          ? positiveNumber(option('concurrency'), concurrency)
          : nonNegativeNumber(option('concurrency'), concurrency),
      maxQueued: nonNegativeNumber(
        option('maxQueued'),
        options.maxQueued ?? this.#defaults.maxQueued,
      ),
      keepForMs: nonNegativeNumber(
        option('keepForMs'),
        options.keepForMs ?? this.#defaults.keepForMs,
      ),
      killAfterMs: nonNegativeNumber(option('killAfterMs'), options.killAfterMs ?? 5_000),
      validate: options.validate as ((input: unknown) => unknown) | undefined,
      finalize: options.finalize,
    };
    const state: KindState = { kind, queue: new Map(), running: 0, taking: false };
    this.#kinds.set(`${app}/${model}`, state);
    if (this.#shared !== undefined) this.#takeShared(state);
  }

  /** The kinds defined, as `app/model`. */
  kinds(): string[] {
    return [...this.#kinds.keys()];
  }

  /**
   * Creates a task of kind `app/model`; it runs as soon as the kind has a free slot.
   * Resolves with the task as created (`queued`).
   *
   * @throws UnknownKindError, TaskInputError (the kind's `validate` refused the input),
   *   TaskExistsError (the id is taken), QueueFullError, ShuttingDownError.
   */
  async create(
    app: string,
    model: string,
    input: unknown,
    options: CreateOptions = {},
  ): Promise<TaskRecord> {
    if (this.#closing) throw new ShuttingDownError();
    const state = this.#kinds.get(`${app}/${model}`);
    if (state === undefined) throw new UnknownKindError(app, model);
    const { kind } = state;
    let accepted = input;
    if (kind.validate !== undefined) {
      try {
        accepted = kind.validate(input);
      } catch (error) {
        throw new TaskInputError(`${app}/${model} refused the input: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    if (this.#queuedOf(state).length >= kind.maxQueued) {
      throw new QueueFullError(app, model, kind.maxQueued);
    }
    const id =
      options.id === undefined
        ? globalThis.crypto.randomUUID()
        : checkTaskId('TaskManager.create(…, { id })', options.id);
    const record: TaskRecord = {
      id,
      app,
      model,
      status: 'queued',
      input: accepted ?? null,
      ...(options.owner === undefined ? {} : { owner: options.owner }),
      createdAt: this.#clock.now(),
      lastSeq: 0,
    };
    await this.store.insert(record);
    if (this.#shared !== undefined) {
      this.#takeShared(state);
      return record;
    }
    state.queue.set(id, record);
    this.#queued.set(id, record);
    this.#pump(state);
    return record;
  }

  /**
   * Where task `id` stands in its kind's queue: 1 runs next, 0 means it is not waiting
   * (running, finished, unknown, or queued in another process). With a shared store the
   * queue is every process's, and every process gives the same answer.
   */
  position(id: string): number {
    const queued = this.#allQueued();
    const task = queued.find((record) => record.id === id);
    if (task === undefined) return 0;
    let place = 0;
    for (const other of queued) {
      if (other.app !== task.app || other.model !== task.model) continue;
      place++;
      if (other.id === id) return place;
    }
    return 0;
  }

  /**
   * What waits and what runs now: in this process, or with a shared store in every
   * process (so every front end shows the same queue).
   */
  queue(): QueueSnapshot {
    return {
      queued: this.#allQueued(),
      running:
        this.#shared === undefined
          ? [...this.#runs.values()].map((run) => run.record)
          : this.#shared.running(),
    };
  }

  /**
   * Calls `listener` with a task's record after every change of its status: created
   * (`queued`), `running`, and its end. For live views (a queue, a dashboard); the task's
   * events come through {@link events}.
   */
  onTaskChange(listener: (task: TaskRecord) => void): Subscription {
    return this.store.watchTasks(listener);
  }

  /**
   * Cancels every queued task (of every kind) with `reason`; running ones are left alone.
   * Resolves with how many this cancelled.
   */
  async cancelQueued(reason?: string | Partial<CancelReason>): Promise<number> {
    const cancels = this.#allQueued().map((task) =>
      this.cancelTask(task.app, task.model, task.id, { reason }),
    );
    return (await Promise.all(cancels)).filter(Boolean).length;
  }

  /** The task `id` of kind `app/model`, or `undefined`. */
  async get(app: string, model: string, id: string): Promise<TaskRecord | undefined> {
    const task = await this.find(id);
    return task?.app === app && task.model === model ? task : undefined;
  }

  /** The task `id`, whatever its kind, or `undefined`. */
  async find(id: string): Promise<TaskRecord | undefined> {
    return isTaskId(id) ? this.store.get(id) : undefined;
  }

  /** Tasks matching `filter`, newest first. */
  list(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    return this.store.list(filter);
  }

  /**
   * The events of task `id`: those stored after `after`, then live ones, ending after the
   * terminal event (at once for a finished task). Leaving the loop releases the watch.
   * A watcher more than `bufferSize` live events behind is dropped: iteration rejects with
   * `WatcherLaggedError`, whose `resumeAfter` is where to watch again from.
   *
   * Iteration rejects with `TaskNotFoundError` for an unknown task.
   */
  events(app: string, model: string, id: string, options: WatchOptions = {}): TaskWatch {
    const where = 'TaskManager.events(app, model, id, options)';
    const after = nonNegativeInteger(`${where}: options.after`, options.after ?? 0);
    const bufferSize = positiveNumber(
      `${where}: options.bufferSize`,
      options.bufferSize ?? this.#watchBufferSize,
    );
    return new TaskWatch(this.store, id, after, bufferSize, async () => {
      if ((await this.get(app, model, id)) === undefined) throw new TaskNotFoundError(id);
    });
  }

  /**
   * Cancels task `id`. Resolves `true` if this call ended it (it was queued or running),
   * `false` if it is unknown or had already ended. A queued task leaves the queue at once;
   * a running one has its Context stopped with `reason`. Either way its `cancelled` event
   * reaches every watcher at once. With `wait`, resolves only after the handler returned
   * and the finalizers ran (with a shared store: when the handler runs in this process;
   * one elsewhere is stopped there, and this resolves once the cancel is written).
   */
  async cancelTask(
    app: string,
    model: string,
    id: string,
    options: CancelOptions = {},
  ): Promise<boolean> {
    const task = await this.get(app, model, id);
    if (task === undefined || isTerminal(task.status)) return false;
    const reason = cancelReason(options.reason, this.#clock.now());
    // No await between these lookups and the store's compare-and-set: a queued task leaves
    // the queue here, so it cannot get a slot while it is being cancelled.
    const run = this.#runs.get(id);
    if (run !== undefined) return this.#cancelRun(run, reason, options.wait);
    const state = this.#kinds.get(`${app}/${model}`);
    state?.queue.delete(id);
    this.#queued.delete(id);
    const now = this.#clock.now();
    const keepForMs = state?.kind.keepForMs ?? this.#defaults.keepForMs;
    const ending = endingOfStop(reason, state?.kind.timeoutMs);
    const event = await this.store.finish(id, ending, now, now + keepForMs);
    if (event === undefined) return false;
    // A task running in another process has its finalizers run there, once its handler is done.
    if (state !== undefined && task.status === 'queued') {
      const finalized = finalize(state.kind, this.store, id);
      this.#track(finalized);
      if (options.wait) await finalized;
    }
    return true;
  }

  /** How many tasks of each kind wait and run in this process. */
  stats(): KindStats[] {
    return [...this.#kinds.values()].map((state) => ({
      app: state.kind.app,
      model: state.kind.model,
      queued: this.#queuedOf(state).length,
      running: state.running,
      concurrency: state.kind.concurrency,
    }));
  }

  /** Removes finished tasks whose `keepFor` has passed; resolves with how many. */
  async sweep(): Promise<number> {
    if (this.#sweepTimer !== undefined) this.#clock.clearTimer(this.#sweepTimer);
    const removed = await this.store.purgeExpired(this.#clock.now());
    if (!this.#closing) {
      this.#sweepTimer = this.#clock.setTimer(() => void this.sweep(), this.#sweepIntervalMs);
    }
    return removed;
  }

  /**
   * Stops taking tasks (`create` throws `ShuttingDownError`), cancels the queued ones and
   * stops the running ones with kind `shutdown` (every watcher gets its `cancelled` event),
   * waits up to `graceMs` for their handlers, kills the Contexts of those still running,
   * then closes the store. Idempotent.
   */
  shutdown(options: { graceMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#shutDown(
      nonNegativeNumber(
        'TaskManager.shutdown(options): options.graceMs',
        options.graceMs ?? 10_000,
      ),
    );
    return this.#closing;
  }

  async #shutDown(graceMs: number): Promise<void> {
    if (this.#sweepTimer !== undefined) this.#clock.clearTimer(this.#sweepTimer);
    if (this.#lostTimer !== undefined) this.#clock.clearTimer(this.#lostTimer);
    const reason = cancelReason(
      { kind: 'shutdown', message: 'the server is shutting down' },
      this.#clock.now(),
    );
    const cancels: Promise<boolean>[] = [];
    for (const { kind, queue } of this.#kinds.values()) {
      for (const id of [...queue.keys()]) {
        cancels.push(this.cancelTask(kind.app, kind.model, id, { reason }));
      }
    }
    for (const run of this.#runs.values()) cancels.push(run.cancel(reason));
    await Promise.all(cancels);
    const runs = [...this.#runs.values()];
    if (
      !(await settledWithin(
        runs.map((run) => run.settled),
        graceMs,
      ))
    ) {
      for (const run of runs) run.context.kill(reason);
      // A killed Context ends whatever was passed it; a handler that ignores it is not waited for.
      await settledWithin(
        runs.map((run) => run.settled),
        Math.min(graceMs, 1_000),
      );
    }
    await Promise.all(this.#pendingFinalizers);
    this.#sharedWatch?.dispose();
    await this.store.close();
  }

  async #cancelRun(run: TaskRun, reason: CancelReason, wait?: boolean): Promise<boolean> {
    const cancelled = await run.cancel(reason);
    if (wait) await run.settled;
    return cancelled;
  }

  #pump(state: KindState): void {
    const { kind, queue } = state;
    while (state.running < kind.concurrency && queue.size > 0) {
      const [id, record] = queue.entries().next().value as [string, TaskRecord];
      queue.delete(id);
      this.#queued.delete(id);
      state.running++;
      this.#launch(state, record, false);
    }
  }

  // Runs `record` in a slot already counted in `state.running`.
  #launch(state: KindState, record: TaskRecord, claimed: boolean): void {
    const run = new TaskRun(state.kind, this.store, record, this.#clock, claimed);
    this.#runs.set(record.id, run);
    void run.settled.then(() => {
      this.#runs.delete(record.id);
      state.running--;
      if (this.#closing) return;
      if (this.#shared === undefined) this.#pump(state);
      else this.#takeShared(state);
    });
  }

  // With a shared store: takes the oldest queued tasks of the kind, as many at once as it
  // has free slots. The store's compare-and-set decides between processes; a task another
  // one took first is gone from the queue on the next look, so the loop moves on in submit
  // order.
  #takeShared(state: KindState): void {
    const store = this.#shared!;
    if (state.taking || this.#closing) return;
    state.taking = true;
    void (async () => {
      try {
        while (!this.#closing) {
          const free = state.kind.concurrency - state.running;
          const next = this.#queuedOf(state).slice(0, Math.max(0, free));
          if (next.length === 0) return;
          state.running += next.length;
          const taken = await Promise.all(
            next.map((task) =>
              store.start(task.id, this.#clock.now()).catch((error) => {
                console.error(`[@andon/tasks] could not take task ${task.id}:`, error);
                return null;
              }),
            ),
          );
          for (const started of taken) {
            if (started === undefined || started === null) state.running--;
            else this.#launch(state, started, true);
          }
          if (taken.includes(null)) {
            // The store is away (a restart): look again a little later.
            this.#clock.setTimer(() => this.#takeShared(state), 1_000);
            return;
          }
        }
      } finally {
        state.taking = false;
      }
    })();
  }

  // A change any process made to a shared store's task.
  #onSharedChange(task: TaskRecord): void {
    if (this.#closing) return;
    if (task.status === 'queued') {
      const state = this.#kinds.get(`${task.app}/${task.model}`);
      if (state !== undefined) this.#takeShared(state);
      return;
    }
    const run = this.#runs.get(task.id);
    if (run === undefined || !isTerminal(task.status)) return;
    // Ended elsewhere (a cancel on another front end): stop the handler here, with the reason given there.
    const reason =
      task.reason ??
      createReason({
        kind: 'stop',
        message: task.error ?? 'the task ended in another process',
        origin: ORIGIN_ELSEWHERE,
        at: this.#clock.now(),
      });
    void run.cancel(reason);
  }

  // Marks failed the tasks whose runner went silent, then looks again in half the period.
  async #failLost(): Promise<void> {
    const store = this.#shared!;
    try {
      for (const task of await store.lostTasks()) {
        const state = this.#kinds.get(`${task.app}/${task.model}`);
        const now = this.#clock.now();
        const keepForMs = state?.kind.keepForMs ?? this.#defaults.keepForMs;
        const ending = { status: 'failed', error: lostMessage(store.livenessMs) } as const;
        const ended = await store.finish(task.id, ending, now, now + keepForMs);
        if (ended !== undefined && state !== undefined) {
          this.#track(finalize(state.kind, this.store, task.id));
        }
      }
    } catch (error) {
      console.error('[@andon/tasks] could not look for lost tasks:', error);
    }
    if (!this.#closing) {
      this.#lostTimer = this.#clock.setTimer(() => void this.#failLost(), store.livenessMs / 2);
    }
  }

  // Queued tasks of one kind, in submit order.
  #queuedOf(state: KindState): TaskRecord[] {
    if (this.#shared === undefined) return [...state.queue.values()];
    const { app, model } = state.kind;
    return this.#shared.queued().filter((task) => task.app === app && task.model === model);
  }

  // Queued tasks of every kind, in submit order.
  #allQueued(): TaskRecord[] {
    return this.#shared === undefined ? [...this.#queued.values()] : this.#shared.queued();
  }

  #track(promise: Promise<void>): void {
    this.#pendingFinalizers.add(promise);
    void promise.then(() => this.#pendingFinalizers.delete(promise));
  }
}

/** Where a stop that came from another process's change says it came from. */
const ORIGIN_ELSEWHERE = 'andon-tasks (another process)';

// True if every promise settled within `ms`; leaves no timer behind.
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      Promise.allSettled(promises).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
