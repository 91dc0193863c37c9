import { randomUUID } from 'node:crypto';
import type { Subscription } from '@andon/context';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { endedRecord } from '../ended-record.js';
import { TaskExistsError } from '../errors.js';
import { numberAtLeast } from '../option-checks.js';
import type { SharedTaskStore } from '../shared-store.js';
import { matchesFilter } from '../store-filter.js';
import {
  isTerminal,
  type TaskEnding,
  type TaskEvent,
  type TaskFilter,
  type TaskRecord,
  terminalEventOf,
} from '../task.js';
import { EventLog } from './event-log.js';
import { type JetStreamNames, jetStreamNames } from './names.js';
import { isWrongLastSequence, withRetries } from './retry.js';
import { RunnerLiveness } from './runner-liveness.js';
import { decodeStored, encodeStored, type StoredTask } from './stored-task.js';
import { type MirroredTask, TaskMirror } from './task-mirror.js';

/** Options of {@link JetStreamStore.open}. */
export interface JetStreamStoreOptions {
  /** An open connection to a nats-server (2.9 or newer) with JetStream on. The store does not close it. */
  connection: NatsConnection;
  /** First part of the bucket, stream and subject names. Default `andon`. */
  prefix?: string;
  /** How this process is known as a runner of tasks. Default: a new UUID. */
  processId?: string;
  /**
   * How long a process may stay silent before the tasks it runs count as lost. Every
   * process sharing a prefix uses the first one's value. Default 10 000.
   */
  livenessMs?: number;
  /** Copies of each bucket and stream on a clustered server. Default 1. */
  replicas?: number;
}

/**
 * Tasks on NATS JetStream, shared by every process that opens the same prefix: records
 * in a KV bucket (`<prefix>_tasks`), events in a stream (`<prefix>_task_events`, a subject
 * per task), and which processes are alive in a second bucket (`<prefix>_task_runners`).
 *
 * Every status change is a compare-and-set on the record's KV revision, so of racing
 * changes from any machines exactly one wins; a task's events are numbered by the stream
 * (see `EventLog`), so every process reads the same `seq`. The task's terminal event is
 * written right after the status that wins; a process that dies between the two leaves a
 * finished record without its event, and the next reader of the events writes it.
 * Everything is on file storage: a restarted nats-server keeps what it acknowledged.
 * Finished tasks are removed by `purgeExpired` (no per-message TTLs, which need
 * nats-server 2.11).
 *
 * @example
 * import { connect } from '@nats-io/transport-node';
 * import { TaskManager } from '@andon/tasks';
 * import { JetStreamStore } from '@andon/tasks/jetstream';
 *
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * const tasks = await TaskManager.open({ store: await JetStreamStore.open({ connection: nc }) });
 */
export class JetStreamStore implements SharedTaskStore {
  readonly processId: string;
  readonly #names: JetStreamNames;
  readonly #kv: KV;
  readonly #mirror: TaskMirror;
  readonly #log: EventLog;
  readonly #liveness: RunnerLiveness;
  readonly #writes = new Map<string, Promise<unknown>>();
  #closed: Promise<void> | undefined;

  /** Creates the buckets and the stream when they do not exist, then loads the tasks. */
  static async open(options: JetStreamStoreOptions): Promise<JetStreamStore> {
    if (typeof options !== 'object' || options === null || options.connection === undefined) {
      throw new TypeError(
        'JetStreamStore.open(options): options.connection (a NatsConnection) is required',
      );
    }
    const names = jetStreamNames(options.prefix);
    const livenessMs = numberAtLeast(
      'JetStreamStore.open(options): options.livenessMs',
      options.livenessMs ?? 10_000,
      100,
    );
    const replicas = options.replicas ?? 1;
    const nc = options.connection;
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    const kvm = new Kvm(nc);
    const kv = await kvm.create(names.tasksBucket, {
      history: 1,
      replicas,
      storage: StorageType.File,
    });
    await ensureEventsStream(jsm, names, replicas);
    const processId = options.processId ?? randomUUID();
    const log = new EventLog(js, jsm, names);
    const mirror = new TaskMirror(names, (id) => log.forget(id));
    await log.follow();
    await mirror.follow(kv);
    const liveness = await RunnerLiveness.open(kvm, names, processId, livenessMs);
    const store = new JetStreamStore({ names, kv, mirror, log, liveness, processId });
    void store.#refollowOnReconnect(nc);
    return store;
  }

  private constructor(parts: {
    names: JetStreamNames;
    kv: KV;
    mirror: TaskMirror;
    log: EventLog;
    liveness: RunnerLiveness;
    processId: string;
  }) {
    this.#names = parts.names;
    this.#kv = parts.kv;
    this.#mirror = parts.mirror;
    this.#log = parts.log;
    this.#liveness = parts.liveness;
    this.processId = parts.processId;
  }

  get livenessMs(): number {
    return this.#liveness.livenessMs;
  }

  async insert(record: TaskRecord): Promise<void> {
    let revision: number;
    try {
      revision = await withRetries(() =>
        this.#kv.create(this.#names.key(record.id), encodeStored({ task: record })),
      );
    } catch (error) {
      if (isWrongLastSequence(error)) throw new TaskExistsError(record.id);
      throw error;
    }
    this.#log.created(record.id);
    this.#mirror.apply(record.id, record, revision, revision);
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const known = this.#mirror.get(id) ?? (await this.#read(id));
    return known === undefined ? undefined : this.#current(known.task);
  }

  async list(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    const found = [...this.#mirror.values()]
      .filter((known) => matchesFilter(known.task, filter))
      // Newest first; of tasks created in one millisecond, the last submitted.
      .sort((a, b) => b.task.createdAt - a.task.createdAt || b.order - a.order);
    const limited = filter.limit === undefined ? found : found.slice(0, filter.limit);
    return Promise.all(limited.map((known) => this.#current(known.task)));
  }

  start(id: string, at: number): Promise<TaskRecord | undefined> {
    return this.#serially(id, async () => {
      const updated = await this.#update(id, (known) =>
        known.task.status !== 'queued'
          ? undefined
          : {
              ...known,
              task: { ...known.task, status: 'running', startedAt: at },
              runner: this.processId,
            },
      );
      return updated === undefined ? undefined : this.#current(updated.task);
    });
  }

  append(id: string, type: string, data: unknown, at: number): Promise<TaskEvent | undefined> {
    return this.#serially(id, async () => {
      const known = this.#mirror.get(id) ?? (await this.#read(id));
      if (known === undefined || isTerminal(known.task.status)) return undefined;
      return this.#log.write(id, known.order, type, data ?? null, at);
    });
  }

  finish(
    id: string,
    ending: TaskEnding,
    at: number,
    expiresAt: number,
  ): Promise<TaskEvent | undefined> {
    return this.#serially(id, async () => {
      const lastSeq = await this.#log.lastSeq(id);
      const updated = await this.#update(id, (known) =>
        isTerminal(known.task.status)
          ? undefined
          : {
              ...known,
              task: endedRecord({ ...known.task, lastSeq: lastSeq + 1 }, ending, at, expiresAt),
            },
      );
      return updated === undefined ? undefined : this.#announceEnd(id, updated);
    });
  }

  async events(id: string, after: number, limit = Number.POSITIVE_INFINITY): Promise<TaskEvent[]> {
    const events = await this.#log.read(id, after, limit);
    if (events.length >= limit || (await this.#log.ended(id))) return events;
    // The end may be recorded without its event (its writer died in between): write it.
    const known = this.#mirror.get(id);
    if (known === undefined || !isTerminal(known.task.status)) return events;
    await this.#serially(id, () => this.#announceEnd(id, known));
    // Read again: events may have landed since the first read, before the terminal one.
    return this.#log.read(id, after, limit);
  }

  subscribe(id: string, listener: (event: TaskEvent) => void): Subscription {
    return this.#log.subscribe(id, listener);
  }

  watchTasks(listener: (task: TaskRecord) => void): Subscription {
    return this.#mirror.watch(listener);
  }

  async failUnfinished(
    message: string,
    at: number,
    expiresAt: (task: TaskRecord) => number,
  ): Promise<TaskRecord[]> {
    const unfinished = [...this.#mirror.values()].filter((known) => !isTerminal(known.task.status));
    const ended: TaskRecord[] = [];
    for (const { task } of unfinished) {
      const current = await this.#current(task);
      const ending: TaskEnding = { status: 'failed', error: message };
      if ((await this.finish(task.id, ending, at, expiresAt(current))) === undefined) continue;
      const record = await this.get(task.id);
      if (record !== undefined) ended.push(record);
    }
    return ended;
  }

  async purgeExpired(now: number): Promise<number> {
    let removed = 0;
    for (const { task } of [...this.#mirror.values()]) {
      if (!isTerminal(task.status) || task.expiresAt === undefined || task.expiresAt > now)
        continue;
      // Events first: a task whose record is gone must not leave events for a new task with its id.
      await this.#log.purge(task.id);
      await withRetries(() => this.#kv.purge(this.#names.key(task.id)));
      this.#mirror.purged(task.id);
      removed++;
    }
    return removed;
  }

  queued(): TaskRecord[] {
    return [...this.#mirror.values()]
      .filter((known) => known.task.status === 'queued')
      .sort((a, b) => a.order - b.order)
      .map((known) => known.task);
  }

  running(): TaskRecord[] {
    return [...this.#mirror.values()]
      .filter((known) => known.task.status === 'running')
      .sort((a, b) => a.order - b.order)
      .map((known) => known.task);
  }

  async lostTasks(): Promise<TaskRecord[]> {
    const alive = new Map<string, Promise<boolean>>();
    const lost: TaskRecord[] = [];
    for (const known of [...this.#mirror.values()]) {
      const { runner } = known;
      if (known.task.status !== 'running' || runner === undefined || runner === this.processId) {
        continue;
      }
      if (!alive.has(runner)) alive.set(runner, this.#liveness.isAlive(runner));
      if (!(await alive.get(runner))) lost.push(await this.#current(known.task));
    }
    return lost;
  }

  /** Stops following the buckets and says this process is gone. Idempotent; the connection stays open. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled(this.#writes.values());
      this.#mirror.close();
      this.#log.close();
      await this.#liveness.close();
    })();
    return this.#closed;
  }

  // The server's ephemeral consumers do not survive its restart, and the client would
  // notice only after missing heartbeats: follow again as soon as the connection is back.
  async #refollowOnReconnect(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.#closed !== undefined) return;
      if (status.type !== 'reconnect') continue;
      try {
        await this.#log.follow();
        await this.#mirror.follow(this.#kv);
      } catch (error) {
        console.error(
          '[@andon/tasks] could not follow the task store again after a reconnect:',
          error,
        );
      }
    }
  }

  // A record as readers see it: an unfinished task's record is not rewritten per event, so
  // its lastSeq comes from the events.
  async #current(task: TaskRecord): Promise<TaskRecord> {
    if (isTerminal(task.status)) return task;
    const lastSeq = await this.#log.lastSeq(task.id);
    return lastSeq === task.lastSeq ? task : { ...task, lastSeq };
  }

  // Writes the terminal event of an ended task (once, whoever tries), and makes its record's
  // lastSeq say where it landed.
  async #announceEnd(id: string, ended: MirroredTask): Promise<TaskEvent | undefined> {
    const { task } = ended;
    const { type, data } = terminalEventOf(endingOf(task));
    const event =
      (await this.#log.write(id, ended.order, type, data, task.finishedAt ?? Date.now())) ??
      (await this.#log.read(id, (await this.#log.lastSeq(id)) - 1)).at(-1);
    if (event !== undefined && event.seq !== task.lastSeq) {
      await this.#update(id, (known) =>
        known.task.lastSeq === event.seq
          ? undefined
          : { ...known, task: { ...known.task, lastSeq: event.seq } },
      );
    }
    return event;
  }

  // Compare-and-set on the KV revision: `change` sees the task as known (fresh from the
  // server after a lost race) and says its next version, or undefined for no change.
  async #update(
    id: string,
    change: (known: MirroredTask) => StoredTask | undefined,
  ): Promise<MirroredTask | undefined> {
    let known = this.#mirror.get(id) ?? (await this.#read(id));
    for (;;) {
      if (known === undefined) return undefined;
      const next = change(known);
      if (next === undefined) return undefined;
      const stored: StoredTask = { ...next, order: known.order };
      try {
        const revision = await withRetries(() =>
          this.#kv.update(this.#names.key(id), encodeStored(stored), known!.revision),
        );
        this.#mirror.apply(id, stored.task, revision, known.order, stored.runner);
        return { task: stored.task, revision, order: known.order, runner: stored.runner };
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
        known = await this.#read(id);
      }
    }
  }

  // The task as the server has it now.
  async #read(id: string): Promise<MirroredTask | undefined> {
    const entry = await withRetries(() => this.#kv.get(this.#names.key(id)));
    if (entry === null || entry.operation !== 'PUT') return undefined;
    const stored = decodeStored(entry.value, entry.revision);
    this.#mirror.apply(id, stored.task, entry.revision, stored.order, stored.runner);
    return {
      task: stored.task,
      revision: entry.revision,
      order: stored.order,
      runner: stored.runner,
    };
  }

  // One write at a time per task, in call order: appends that are not awaited keep their order.
  #serially<T>(id: string, write: () => Promise<T>): Promise<T> {
    const previous = this.#writes.get(id) ?? Promise.resolve();
    const next = previous.then(write, write);
    const settled = next.catch(() => {});
    this.#writes.set(id, settled);
    void settled.then(() => {
      if (this.#writes.get(id) === settled) this.#writes.delete(id);
    });
    return next;
  }
}

// The ending a finished record says, for its terminal event.
function endingOf(task: TaskRecord): TaskEnding {
  switch (task.status) {
    case 'completed':
      return { status: 'completed', finalValue: task.finalValue ?? null };
    case 'cancelled':
    case 'timed_out':
      return { status: task.status, error: task.error ?? '', reason: task.reason! };
    default:
      return { status: 'failed', error: task.error ?? '' };
  }
}

async function ensureEventsStream(
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  names: JetStreamNames,
  replicas: number,
): Promise<void> {
  const config = {
    name: names.eventsStream,
    subjects: [names.eventsFilter],
    storage: StorageType.File,
    num_replicas: replicas,
    allow_direct: true,
  };
  try {
    await jsm.streams.info(names.eventsStream);
  } catch {
    await jsm.streams.add(config);
  }
}
