import type { Subscription } from '@andon/context';
import type { KV, KvEntry } from '@nats-io/kv';
import { ChangeFeed } from '../change-feed.js';
import type { TaskRecord } from '../task.js';
import type { JetStreamNames } from './names.js';
import { decodeStored } from './stored-task.js';

/** One task as this process last saw it in the KV bucket. */
export interface MirroredTask {
  readonly task: TaskRecord;
  readonly revision: number;
  readonly order: number;
  readonly runner: string | undefined;
}

/**
 * This process's copy of the task bucket, kept current by one KV watch: reads (`get`,
 * `list`, the shared queue) answer from memory, and every status change any process makes
 * reaches the listeners here, in the order the bucket took them.
 *
 * A write this process makes is applied as soon as the server acknowledges it, so a read
 * right after a write sees it; the watch's copy of the same revision then changes nothing.
 */
export class TaskMirror {
  readonly #tasks = new Map<string, MirroredTask>();
  // Ids this process purged, with the newest revision it knew then: an older write still on
  // its way through the watch must not bring the task back.
  readonly #purged = new Map<string, number>();
  readonly #changes = new ChangeFeed();
  readonly #names: JetStreamNames;
  readonly #onPurge: (id: string) => void;
  #stop: (() => void) | undefined;
  // The newest revision seen, so that following again after a reconnect misses nothing.
  #followedTo = 0;

  constructor(names: JetStreamNames, onPurge: (id: string) => void) {
    this.#names = names;
    this.#onPurge = onPurge;
  }

  /**
   * Loads every task in the bucket, then follows its changes until {@link close}. Called
   * again (after the connection came back), it resumes after the newest revision seen.
   */
  async follow(kv: KV): Promise<void> {
    this.#stop?.();
    if (this.#followedTo > 0) {
      const watch = await kv.watch({ key: '>', resumeFromRevision: this.#followedTo + 1 });
      this.#stop = () => watch.stop();
      void (async () => {
        for await (const entry of watch) this.#observe(entry);
      })();
      return;
    }
    const { values } = await kv.status();
    const watch = await kv.watch({ key: '>' });
    this.#stop = () => watch.stop();
    let loaded: () => void = () => {};
    const initial = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    if (values === 0) loaded();
    void (async () => {
      for await (const entry of watch) {
        this.#observe(entry);
        if (entry.delta === 0) loaded();
      }
      loaded();
    })();
    await initial;
  }

  get(id: string): MirroredTask | undefined {
    return this.#tasks.get(id);
  }

  values(): IterableIterator<MirroredTask> {
    return this.#tasks.values();
  }

  /** Applies a version this process wrote (or read); older ones than known change nothing. */
  apply(id: string, task: TaskRecord, revision: number, order: number, runner?: string): void {
    const known = this.#tasks.get(id);
    if (known !== undefined && known.revision >= revision) return;
    if ((this.#purged.get(id) ?? 0) >= revision) return;
    this.#tasks.set(id, { task, revision, order, runner });
    if (known === undefined || known.task.status !== task.status) this.#changes.publish(task);
  }

  /** Forgets a task this process purged at a point where it knew `revision`. */
  purged(id: string): void {
    const known = this.#tasks.get(id);
    if (known !== undefined) this.#purged.set(id, known.revision);
    this.#tasks.delete(id);
    this.#onPurge(id);
  }

  watch(listener: (task: TaskRecord) => void): Subscription {
    return this.#changes.watch(listener);
  }

  close(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  #observe(entry: KvEntry): void {
    this.#followedTo = Math.max(this.#followedTo, entry.revision);
    const id = this.#names.idOfKey(entry.key);
    if (entry.operation !== 'PUT') {
      const known = this.#tasks.get(id);
      if (known !== undefined && known.revision < entry.revision) {
        this.#tasks.delete(id);
        this.#onPurge(id);
      }
      // The watch is ordered: nothing older than this marker can still arrive.
      this.#purged.delete(id);
      return;
    }
    const stored = decodeStored(entry.value, entry.revision);
    this.apply(id, stored.task, entry.revision, stored.order, stored.runner);
  }
}
