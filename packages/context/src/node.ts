import process from 'node:process';
import { Context, type ContextOptions, type Subscription } from './context.js';
import { describeArgument } from './describe-argument.js';
import { assertContext } from './guard.js';

// The node entry is a superset of the main one, so node programs need one import.
export * from './index.js';

/** Options for {@link stopOnSignals} and {@link signalContext}. */
export interface SignalOptions {
  /** The signals to handle (default `['SIGINT', 'SIGTERM']`). */
  signals?: readonly NodeJS.Signals[];
}

const DEFAULT_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Ties `ctx` to OS signals: the first signal stops it (kind `signal`, origin the signal's
 * name), the second kills it. After the kill the handlers are removed, so a third signal has
 * Node's default effect (the process ends) — a way out of a job that ignores its kill.
 * The handlers are also removed when `ctx` is disposed or the result is disposed.
 * While installed they replace Node's default exit on those signals: your program decides
 * when to exit.
 *
 * @example
 * import { stopOnSignals } from '@andon/context/node';
 * const ctx = new Context();
 * stopOnSignals(ctx);             // Ctrl-C: stop gracefully; Ctrl-C again: kill
 * await job(ctx);
 * ctx.dispose();                  // handlers removed
 */
export function stopOnSignals(ctx: Context, options?: SignalOptions): Subscription {
  const where = 'stopOnSignals(ctx, options)';
  assertContext(ctx, where);
  const signals = checkSignals(options, where);
  return new SignalWatch(ctx, signals);
}

/**
 * A new root context (see {@link Context} for the options) stopped by the first SIGINT or
 * SIGTERM and killed by the second; the handlers go when it is disposed.
 *
 * @example
 * using ctx = signalContext({ timeoutMs: 60_000 });
 * await crawl(ctx);
 */
export function signalContext(options?: ContextOptions & SignalOptions): Context {
  const where = 'signalContext(options)';
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`${where}: options must be an object, got ${describeArgument(options)}`);
  }
  const signals = checkSignals(options, where);
  const { signals: _omit, ...contextOptions } = options ?? {};
  const ctx = new Context(contextOptions);
  new SignalWatch(ctx, signals);
  return ctx;
}

class SignalWatch implements Subscription {
  #installed = false;
  #count = 0;
  #onKill: Subscription | undefined;

  constructor(
    readonly ctx: Context,
    readonly signals: readonly NodeJS.Signals[],
  ) {
    // A killed or finished context cannot be moved further by a signal.
    if (ctx.isKilled() || ctx.disposed) return;
    for (const signal of signals) process.on(signal, this.#onSignal);
    this.#installed = true;
    // Once killed there is nothing left for a signal to do: give them back to Node.
    this.#onKill = ctx.onKill(() => this.dispose());
    ctx.defer(() => this.dispose());
  }

  dispose(): void {
    if (!this.#installed) return;
    this.#installed = false;
    for (const signal of this.signals) process.removeListener(signal, this.#onSignal);
    this.#onKill?.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  readonly #onSignal = (signal: NodeJS.Signals): void => {
    const reason = { kind: 'signal', message: `received ${signal}`, origin: signal } as const;
    if (this.#count++ === 0 && !this.ctx.isStopped()) {
      this.ctx.stop(reason);
      return;
    }
    this.dispose();
    this.ctx.kill({ ...reason, message: `received ${signal} again` });
  };
}

function checkSignals(
  options: SignalOptions | undefined,
  where: string,
): readonly NodeJS.Signals[] {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`${where}: options must be an object, got ${describeArgument(options)}`);
  }
  const signals = options?.signals ?? DEFAULT_SIGNALS;
  if (!Array.isArray(signals) || signals.length === 0) {
    throw new TypeError(
      `${where}: options.signals must be a non-empty array, got ${describeArgument(signals)}`,
    );
  }
  for (const [i, signal] of signals.entries()) {
    if (typeof signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(signal)) {
      throw new TypeError(
        `${where}: options.signals[${i}] must be a signal name, got ${describeArgument(signal)}`,
      );
    }
    if (signal === 'SIGKILL' || signal === 'SIGSTOP') {
      throw new TypeError(`${where}: options.signals[${i}] is ${signal}, which cannot be handled`);
    }
  }
  return signals;
}
