import { constants } from 'node:os';
import { type CancelReason, Context, stopOnSignals } from '@andon/context/node';
import { describeError, ERROR, note, statusPrefix } from './output.js';

/** Options of {@link TierLife}. */
export interface LifeOptions {
  /** How long in-flight streams may finish after the first signal. */
  graceMs: number;
  /** Treat stdin closing like a first signal, so a tier never outlives the process that started it. */
  exitWithParent?: boolean;
  /** Prefix of the status lines; default the demo tier's (`andon demo <tier>: `). */
  prefix?: string;
}

/**
 * The lifetime of a long-running tier (server, middle, worker…). The first SIGINT or
 * SIGTERM — or stdin closing, with `exitWithParent` — stops {@link TierLife.context}, and
 * {@link TierLife.run} then closes the tier. A second signal kills it: the process exits at
 * once with 128 + the signal's number.
 */
export class TierLife {
  /** Stopped when the tier should shut down; killed when it should exit now. */
  readonly context = new Context();
  readonly prefix: string;
  #unwatchParent: () => void = () => {};

  constructor(
    readonly tier: string,
    readonly options: LifeOptions,
  ) {
    this.prefix = options.prefix ?? statusPrefix(tier);
    exitOnSecondSignal(this.context, this.prefix);
    if (options.exitWithParent) this.#unwatchParent = stopWhenParentGoes(this.context);
  }

  /**
   * Runs the tier: `start` brings it up; `close` takes it down after the first signal, or
   * at once when `start` fails. Resolves with the exit code: 0 after a signal (even one that
   * cut the start short, making it fail with "shutting down"), 1 after a failed start, which
   * is printed as `error: cannot <action>: <why>`. Either way the signals and stdin are let
   * go, so nothing keeps the process alive.
   *
   * @example
   * let rt: Runtime | undefined;
   * return life.run(
   *   async () => {
   *     rt = await Runtime.start(options);
   *     await rt.namespace('demo').component('server').endpoint('generate').serve(handler);
   *   },
   *   async () => {
   *     await rt?.shutdown({ graceMs: 5000 });
   *   },
   * );
   */
  async run(
    start: () => Promise<void>,
    close: () => Promise<void>,
    action = 'start',
  ): Promise<number> {
    // Waiting before anything can fail: a failed start is released by the same path.
    const done = this.#closeOnStop(close);
    try {
      await start();
    } catch (failure) {
      if (this.context.isStopped()) return done;
      note(this.prefix, `${ERROR}cannot ${action}: ${describeError(failure)}`);
      this.context.stop('startup failed');
      await done;
      return 1;
    }
    return done;
  }

  /** Waits for the context to stop (a signal, or a failed start), then runs `close`. */
  async #closeOnStop(close: () => Promise<void>): Promise<number> {
    await this.context.stopped();
    const why = this.context.reason?.message ?? 'stopped';
    note(this.prefix, `${why}; shutting down (grace ${this.options.graceMs} ms)`);
    try {
      await close();
    } finally {
      this.#release();
    }
    note(this.prefix, 'shut down');
    return 0;
  }

  // Gives the signals back to Node and lets go of stdin, so nothing keeps the process alive.
  #release(): void {
    this.#unwatchParent();
    this.context.dispose();
  }
}

/**
 * Stops `ctx` when stdin closes. A parent that starts us with a stdin pipe and dies, even
 * by SIGKILL, closes that pipe: this is how a tier avoids outliving it. Returns the function
 * that stops watching (and lets stdin go, so it no longer keeps the process alive).
 */
export function stopWhenParentGoes(ctx: Context): () => void {
  const closed = () =>
    ctx.stop({ kind: 'signal', message: 'stdin closed: the parent is gone', origin: 'stdin' });
  process.stdin.on('end', closed);
  process.stdin.on('error', closed);
  process.stdin.resume();
  return () => {
    process.stdin.off('end', closed);
    process.stdin.off('error', closed);
    process.stdin.destroy();
  };
}

/**
 * Ties `ctx` to SIGINT and SIGTERM (status lines start with `prefix`): the first stops it, the second exits the process at once
 * (the context keeps the first reason, so the exit code names the first signal).
 */
export function exitOnSecondSignal(ctx: Context, prefix: string): void {
  stopOnSignals(ctx);
  ctx.onKill((reason) => {
    note(prefix, 'second signal: exiting now');
    process.exit(exitCode(reason));
  });
}

/** 128 + the signal's number, as a shell reports a process ended by that signal. */
export function exitCode(reason: CancelReason | undefined): number {
  const signal = reason?.origin as keyof typeof constants.signals | undefined;
  const number = signal === undefined ? undefined : constants.signals[signal];
  return number === undefined ? 1 : 128 + number;
}
