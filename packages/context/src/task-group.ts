import { Context } from './context.js';
import { describeArgument } from './describe-argument.js';
import { CancelledError, isCancelledError } from './errors.js';
import { assertFunction } from './guard.js';
import type { CancelReason } from './reason.js';

/** A task run by a {@link TaskGroup}: it receives its own context, a child of the group's. */
export type Task<T> = (ctx: Context) => PromiseLike<T> | T;

/**
 * How a {@link TaskGroup} failed: every task error, in the order they happened. The first one
 * stopped the siblings.
 *
 * @example
 * try { await group.wait(); }
 * catch (e) { if (e instanceof TaskGroupError) for (const cause of e.errors) log(cause); else throw e; }
 */
export class TaskGroupError extends AggregateError {
  /** Stable, machine-readable code. */
  readonly code = 'ANDON_TASK_GROUP_FAILED';

  constructor(errors: readonly unknown[], taskCount: number) {
    const first = errors[0];
    const detail = first instanceof Error ? first.message : String(first);
    super(
      errors,
      `${errors.length} of ${taskCount} task${taskCount === 1 ? '' : 's'} failed; first: ${detail}`,
    );
    this.name = 'TaskGroupError';
  }
}

/**
 * Structured concurrency: tasks run under one context and the group ends only when every
 * one of them has finished, cleanup included.
 *
 * - The first task that fails (throws anything but a cancellation caused by the group's own
 *   stop) stops the group's context with kind `error`; the siblings see the stop.
 * - {@link wait} resolves when every task has settled and none failed. It rejects with a
 *   {@link TaskGroupError} (an `AggregateError` holding every failure), or, if the outside
 *   context stopped, with a {@link CancelledError} carrying the outside reason: a stop from
 *   outside always wins over the tasks' errors.
 * - {@link cancel} stops the tasks and ends the group without an error (errors other than
 *   cancellations are still reported).
 * - `await using group = new TaskGroup(ctx)` cancels what is still running when the block
 *   ends and waits for it.
 * - Once the group has ended it takes no new tasks; its context is disposed, so a long-lived
 *   outside context keeps nothing.
 *
 * @example
 * const group = new TaskGroup(ctx);
 * const a = group.spawn((ctx) => fetchPart('a', ctx));
 * const b = group.spawn((ctx) => fetchPart('b', ctx));
 * await group.wait();                       // throws if either failed, or if ctx stopped
 * console.log(await a, await b);
 */
export class TaskGroup implements AsyncDisposable {
  /** The group's context: a child of the outside context; every task gets a child of it. */
  readonly context: Context;
  readonly #outside: Context | undefined;
  #running = 0;
  #spawned = 0;
  #errors: unknown[] = [];
  // True once the group stopped its own context (cancel or first failure), so that a stop
  // that reached it from outside can be told apart.
  #selfStopped = false;
  #closed = false;
  #done: Promise<void> | undefined;
  #settle: ((error: unknown) => void) | undefined;
  #awaited = false;

  /** @param ctx the outside context; without one the group has its own root context. */
  constructor(ctx?: Context) {
    if (ctx !== undefined && !(ctx instanceof Context)) {
      throw new TypeError(
        `new TaskGroup(ctx): ctx must be a Context or undefined, got ${describeArgument(ctx)}`,
      );
    }
    this.#outside = ctx;
    this.context = ctx === undefined ? new Context() : ctx.child();
  }

  /** Tasks started and not yet settled. */
  get running(): number {
    return this.#running;
  }

  /** True once the group has ended (every task settled after `wait()` or disposal). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts `task(ctx)` at once with its own child context, disposed when the task settles.
   * Returns the task's own result; a rejection of that promise counts as handled (the group
   * reports it through {@link wait}). Throws a TypeError once the group has ended.
   */
  spawn<T>(task: Task<T>): Promise<T> {
    assertFunction(task, 'spawn(task)', 'task');
    if (this.#closed)
      throw new TypeError('spawn(task): this TaskGroup has ended; it takes no new tasks');
    const ctx = this.context.child();
    this.#running++;
    this.#spawned++;
    let result: Promise<T>;
    try {
      result = Promise.resolve(task(ctx));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      () => this.#finished(ctx),
      (error: unknown) => {
        this.#fail(error, ctx);
        this.#finished(ctx);
      },
    );
    return result;
  }

  /**
   * Stops every task (kind `stop`, or the reason given) and ends the group without an error.
   * Await {@link wait} to know when their cleanup is over.
   */
  cancel(reason?: string | Partial<CancelReason>): void {
    this.#selfStopped ||= !this.context.isStopped();
    this.context.stop(reason ?? 'task group cancelled');
  }

  /**
   * Resolves once every task has settled (tasks may spawn more tasks meanwhile). Rejects
   * with a {@link CancelledError} carrying the outside reason if the outside context
   * stopped, otherwise with a {@link TaskGroupError} if any task failed.
   */
  wait(): Promise<void> {
    this.#awaited = true;
    return this.#ending();
  }

  /** Cancels the tasks still running and waits for them (see {@link cancel}, {@link wait}). */
  async [Symbol.asyncDispose](): Promise<void> {
    const observed = this.#awaited;
    if (!this.#closed && this.#running > 0) {
      this.cancel('task group disposed');
    }
    try {
      await this.#ending();
    } catch (error) {
      // Errors somebody already received from wait() are not thrown a second time.
      if (!observed) throw error;
    }
  }

  #ending(): Promise<void> {
    if (this.#done === undefined) {
      this.#done = new Promise<void>((resolve, reject) => {
        this.#settle = (error) => (error === undefined ? resolve() : reject(error));
      });
      this.#done.catch(() => {});
      if (this.#running === 0) this.#close();
    }
    return this.#done;
  }

  #fail(error: unknown, ctx: Context): void {
    // A task that ends because the group stopped it has not failed.
    if (isCancelledError(error) && ctx.isStopped()) return;
    this.#errors.push(error);
    if (this.#errors.length > 1) return;
    this.#selfStopped ||= !this.context.isStopped();
    const message = error instanceof Error ? error.message : String(error);
    this.context.stop({ kind: 'error', message: `a task failed: ${message}` });
  }

  #finished(ctx: Context): void {
    ctx.dispose();
    this.#running--;
    if (this.#running === 0 && this.#settle !== undefined) this.#close();
  }

  #close(): void {
    this.#closed = true;
    const error = this.#result();
    this.context.dispose();
    this.#settle!(error);
  }

  #result(): Error | undefined {
    const outside = this.#outside;
    if (outside?.isStopped()) return new CancelledError(outside.reason!);
    // Stopped, but not by this group: the outside context was disposed while tasks ran.
    if (this.context.isStopped() && !this.#selfStopped) {
      return new CancelledError(this.context.reason!);
    }
    if (this.#errors.length > 0) return new TaskGroupError(this.#errors, this.#spawned);
    return undefined;
  }
}
