import type { Context } from '@andon/context';
import type { TaskRecord } from './task.js';

/**
 * What a handler gets besides its input and Context: who it is, and a way to send events
 * to every watcher.
 */
export interface TaskHandle {
  readonly id: string;
  readonly app: string;
  readonly model: string;
  /** Who created the task, if the creator said. */
  readonly owner?: string;
  /**
   * Stores an event and sends it to every watcher, in order. `type` may be anything but a
   * terminal type (`complete`, `error`, `cancelled`, `timeout`): the manager writes those.
   * Events emitted after the task ended are dropped. Awaiting is optional; order holds
   * either way.
   */
  emit(type: string, data?: unknown): Promise<void>;
}

/**
 * The work of a task kind, in one of two forms:
 * - an async generator: each `yield value` is a `progress` event with `value` as its data,
 *   and what it returns is the task's final value;
 * - an async function: it emits through `task.emit(type, data)` and returns the final value.
 *
 * `ctx` is stopped when the task is cancelled (kind `stop`, or the reason the canceller
 * gave), when its timeout passes (kind `deadline`) and on shutdown (kind `shutdown`). Pass
 * it on: to `sleep`, `fetch` (`ctx.signal`), or a runtime call, so the cancel crosses
 * processes. After a cancel the generator is not resumed again: its `finally` blocks run.
 *
 * @example
 * const count: TaskHandler<{ n: number }, number> = async function* ({ n }, ctx) {
 *   for (let i = 1; i <= n; i++) { await sleep(100, ctx); yield { step: i, of: n }; }
 *   return n;
 * };
 */
export type TaskHandler<Input = unknown, Result = unknown> =
  | ((input: Input, ctx: Context, task: TaskHandle) => AsyncIterable<unknown, Result, undefined>)
  | ((input: Input, ctx: Context, task: TaskHandle) => Promise<Result>);

/** Options of a task kind, given to {@link TaskManager.define}. */
export interface KindOptions<Input = unknown> {
  /** A task running longer is stopped (kind `deadline`) and ends `timed_out`. Default: none. */
  timeoutMs?: number;
  /** Tasks of this kind running at once; others wait in FIFO order. Default: the manager's. */
  concurrency?: number;
  /** Tasks allowed to wait; one more is refused with `QueueFullError`. Default: the manager's. */
  maxQueued?: number;
  /** How long a finished task and its events are kept. Default: the manager's (1 hour). */
  keepForMs?: number;
  /**
   * After a cancel or timeout, a handler still running this much later has its Context
   * killed (a hard stop for whatever it passed the Context to). Default 5 000.
   */
  killAfterMs?: number;
  /**
   * Checks and normalises the input before the task is created. Throw to refuse it (the
   * creator gets `TaskInputError` with your message; HTTP answers 400).
   */
  validate?: (input: unknown) => Input;
  /**
   * Runs once per task after it ended, whether or not its handler ever ran (a task
   * cancelled while queued still gets it), after the handler returned and its Context's
   * `defer` finalizers ran. `task` is the record as it ended.
   */
  finalize?: (task: TaskRecord) => void | Promise<void>;
}

/** A defined kind with every option resolved. */
export interface Kind {
  readonly app: string;
  readonly model: string;
  readonly handler: TaskHandler;
  readonly timeoutMs: number | undefined;
  readonly concurrency: number;
  readonly maxQueued: number;
  readonly keepForMs: number;
  readonly killAfterMs: number;
  readonly validate: ((input: unknown) => unknown) | undefined;
  readonly finalize: ((task: TaskRecord) => void | Promise<void>) | undefined;
}
