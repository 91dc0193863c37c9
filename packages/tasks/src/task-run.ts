import { type CancelReason, type Clock, Context, createReason, rootCause } from '@andon/context';
import type { Kind, TaskHandle } from './kind.js';
import type { TaskStore } from './store.js';
import { isTerminalEvent, type TaskEnding, type TaskRecord } from './task.js';

const ORIGIN = 'andon-tasks';

/**
 * One task of this process, from the moment it got a slot (still `queued` in the store)
 * until its handler and its finalizers are done. It owns the task's Context, and it is where the three ways a task
 * can end (its handler returns or throws, a cancel, its timeout) meet: the first one
 * decides locally, and the store's compare-and-set decides across processes.
 */
export class TaskRun {
  readonly context: Context;
  /** Resolves once the handler returned and the finalizers ran; never rejects. */
  readonly settled: Promise<void>;
  readonly #kind: Kind;
  readonly #store: TaskStore;
  /** The task as it was created. */
  readonly record: TaskRecord;
  #ending: Promise<boolean> | undefined;
  #writes: Promise<unknown> = Promise.resolve();
  #killTimer: unknown;
  readonly #claimed: boolean;

  /**
   * `claimed`: the store already moved the task to `running` for this process (a shared
   * store's queue); otherwise the run starts it.
   */
  constructor(kind: Kind, store: TaskStore, record: TaskRecord, clock: Clock, claimed = false) {
    this.#claimed = claimed;
    this.#kind = kind;
    this.#store = store;
    this.record = record;
    this.context = new Context({
      id: record.id,
      clock,
      ...(kind.timeoutMs === undefined ? {} : { timeoutMs: kind.timeoutMs }),
    });
    // A stop from anywhere (cancelTask, the deadline, shutdown, the handler itself) ends
    // the task at once for every watcher; the handler winds down after.
    this.context.onStop((reason) => {
      void this.#end(endingOfStop(reason, kind.timeoutMs));
      this.#killTimer = clock.setTimer(() => this.context.kill(), kind.killAfterMs);
    });
    this.settled = this.#run().finally(() => {
      if (this.#killTimer !== undefined) clock.clearTimer(this.#killTimer);
    });
  }

  /**
   * Stops the task with `reason`. Resolves true if this cancel is what ended it, false if
   * it had already ended another way.
   */
  cancel(reason: CancelReason): Promise<boolean> {
    if (this.#ending !== undefined) return Promise.resolve(false);
    this.context.stop(reason);
    return this.#ending ?? Promise.resolve(false);
  }

  async #run(): Promise<void> {
    const { context } = this;
    try {
      const started =
        this.#claimed || (await this.#store.start(this.record.id, context.clock.now()));
      // Cancelled (here or elsewhere) before it could start: the handler never runs.
      if (!started || context.isStopped()) return;
      const result = await this.#invoke();
      await this.#writes;
      await this.#end({ status: 'completed', finalValue: result ?? null });
    } catch (error) {
      if (!context.isStopped()) {
        await this.#writes;
        await this.#end({ status: 'failed', error: messageOf(error) });
      }
    } finally {
      context.dispose();
      await finalize(this.#kind, this.#store, this.record.id);
    }
  }

  async #invoke(): Promise<unknown> {
    const { context } = this;
    const handle = this.#handle();
    const output = this.#kind.handler(this.record.input, context, handle);
    if (!isAsyncIterable(output)) return await output;
    const iterator = output[Symbol.asyncIterator]();
    try {
      for (;;) {
        const step = await iterator.next();
        if (step.done) return step.value;
        if (context.isStopped()) return undefined;
        // A write that fails (the store is away) loses this event, not the task.
        handle.emit('progress', step.value).catch(() => {});
      }
    } finally {
      // After a stop the generator is not resumed: return() runs its finally blocks.
      if (context.isStopped()) await iterator.return?.(undefined);
    }
  }

  #handle(): TaskHandle {
    const { id, app, model, owner } = this.record;
    return {
      id,
      app,
      model,
      ...(owner === undefined ? {} : { owner }),
      emit: (type, data) => {
        if (typeof type !== 'string' || type === '' || isTerminalEvent(type)) {
          return Promise.reject(
            new TypeError(
              `task.emit(type, data): type must be a non-empty string other than complete, error, cancelled or timeout, got ${JSON.stringify(type)}`,
            ),
          );
        }
        if (this.#ending !== undefined) return Promise.resolve();
        // The store keeps one task's appends in call order, so the last one to settle is
        // the one to wait for before the terminal event.
        const write = this.#store.append(id, type, data ?? null, this.context.clock.now());
        this.#writes = write.catch(() => {});
        return write.then(() => {});
      },
    };
  }

  // The first ending wins here; the store's compare-and-set has the last word.
  #end(ending: TaskEnding): Promise<boolean> {
    this.#ending ??= this.#store
      .finish(this.record.id, ending, this.context.clock.now(), this.#expiry())
      .then(
        (event) => event !== undefined,
        (error) => {
          // The store is unreachable: the task's end is not recorded here. With a shared
          // store, another process marks it failed once this one goes silent.
          console.error(
            `[@andon/tasks] could not record the end of task ${this.record.id}:`,
            error,
          );
          return false;
        },
      );
    return this.#ending;
  }

  #expiry(): number {
    return this.context.clock.now() + this.#kind.keepForMs;
  }
}

/**
 * Runs the kind's `finalize` with the task as it ended. A finalizer that throws is
 * reported, never allowed to take the manager down.
 */
export async function finalize(kind: Kind, store: TaskStore, id: string): Promise<void> {
  if (kind.finalize === undefined) return;
  try {
    const task = await store.get(id);
    if (task !== undefined) await kind.finalize(task);
  } catch (error) {
    console.error(`[@andon/tasks] finalize of ${kind.app}/${kind.model} task ${id} threw:`, error);
  }
}

/** How a task whose Context stopped ends: `timed_out` at its deadline, else `cancelled`. */
export function endingOfStop(reason: CancelReason, timeoutMs: number | undefined): TaskEnding {
  const root = rootCause(reason);
  if (root.kind === 'deadline') {
    return {
      status: 'timed_out',
      error: `the task ran longer than its timeout of ${timeoutMs} ms`,
      reason,
    };
  }
  return { status: 'cancelled', error: root.message || 'the task was cancelled', reason };
}

/** The reason of a cancel that gave only a message (or nothing). */
export function cancelReason(input: string | Partial<CancelReason> | undefined, at: number) {
  const given = typeof input === 'string' ? { message: input } : (input ?? {});
  return createReason({
    kind: given.kind ?? 'stop',
    message: given.message ?? 'the task was cancelled',
    origin: given.origin ?? ORIGIN,
    at: given.at ?? at,
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  );
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
