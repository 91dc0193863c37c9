import { type ChildOptions, Context, type Subscription } from './context.js';
import { describeArgument } from './describe-argument.js';
import { type CancelReason, rootCause } from './reason.js';

/**
 * A context that follows several inputs without being linked under any of them. Disposing
 * it (or its {@link context}) removes its registrations from the inputs, so a long-lived
 * input keeps nothing. The inputs are never stopped, killed or disposed by it.
 */
export interface Composition extends Disposable {
  /** Stopped (or killed) when the composition fires. Dispose it, or this, when done. */
  readonly context: Context;
  /**
   * Index in the input list of the input that made {@link context} stop: for `any()` the
   * first input that stopped, for `all()` the last one. `-1` while it has not fired.
   */
  readonly firedIndex: number;
  /** The input at {@link firedIndex}, or `undefined` while it has not fired. */
  readonly firedBy: Context | undefined;
  /** Removes the registrations from the inputs and disposes {@link context}. Idempotent. */
  dispose(): void;
}

type Mode = 'any' | 'all';

/**
 * A context stopped as soon as any input stops, and killed as soon as any input is killed:
 * Go's "either of these contexts". The reason has kind `parent` and the firing input's root
 * reason as its cause; {@link Composition.firedBy} says which input it was. An input already
 * stopped fires it at once (the first such input in list order).
 *
 * @example
 * // Stop the job when the request stops or when the server shuts down.
 * using either = any([request, shutdown]);
 * await runJob(either.context);
 * if (either.firedBy === shutdown) log('interrupted by shutdown');
 */
export function any(contexts: Iterable<Context>, options?: ChildOptions): Composition {
  return compose('any', contexts, options);
}

/**
 * A context stopped once every input has stopped, and killed once every input is killed.
 * {@link Composition.firedBy} is the input whose stop completed the set. An input disposed
 * without being stopped never stops, so `all()` over it never fires.
 *
 * @example
 * // A shared upstream fetch that ends only when every subscriber has gone.
 * const subscribers = all([alice, bob]);
 * subscribers.context.onStop(() => upstream.abort());
 */
export function all(contexts: Iterable<Context>, options?: ChildOptions): Composition {
  return compose('all', contexts, options);
}

function compose(mode: Mode, contexts: Iterable<Context>, options?: ChildOptions): Composition {
  const where = `${mode}(contexts)`;
  if (
    contexts === null ||
    typeof (contexts as Iterable<Context>)?.[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(
      `${where}: contexts must be an iterable of Contexts, got ${describeArgument(contexts)}`,
    );
  }
  const inputs = [...contexts];
  if (inputs.length === 0) throw new TypeError(`${where}: contexts must hold at least one Context`);
  inputs.forEach((input, i) => {
    if (!(input instanceof Context)) {
      throw new TypeError(
        `${where}: contexts[${i}] must be a Context, got ${describeArgument(input)}`,
      );
    }
  });
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`${where}: options must be an object, got ${describeArgument(options)}`);
  }
  const context = new Context({ clock: inputs[0]!.clock, ...options });
  return new Composite(mode, inputs, context);
}

class Composite implements Composition {
  firedIndex = -1;
  #registrations: Subscription[] | undefined = [];

  constructor(
    readonly mode: Mode,
    readonly inputs: readonly Context[],
    readonly context: Context,
  ) {
    context.defer(() => this.#release());
    // Register first, then look at the current states: an input stopped in between is seen
    // by its callback, and the callbacks below are idempotent.
    for (let i = 0; i < inputs.length && this.#registrations; i++) {
      const input = inputs[i]!;
      this.#registrations.push(
        input.onStop(() => this.#update(i)),
        input.onKill(() => this.#update(i)),
      );
    }
  }

  get firedBy(): Context | undefined {
    return this.firedIndex === -1 ? undefined : this.inputs[this.firedIndex];
  }

  dispose(): void {
    this.#release();
    this.context.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #update(index: number): void {
    if (this.#registrations === undefined) return;
    const { inputs, context } = this;
    if (this.mode === 'any') {
      const input = inputs[index]!;
      if (!context.isStopped()) this.firedIndex = index;
      if (input.isKilled()) context.kill(reasonFrom(input.reason!, index));
      else context.stop(reasonFrom(input.reason!, index));
    } else {
      if (!inputs.every((input) => input.isStopped())) return;
      if (!context.isStopped()) this.firedIndex = index;
      const reason = reasonFrom(inputs[this.firedIndex]!.reason!, this.firedIndex);
      if (inputs.every((input) => input.isKilled())) context.kill(reason);
      else context.stop(reason);
    }
    if (context.isKilled()) this.#release();
  }

  #release(): void {
    const registrations = this.#registrations;
    this.#registrations = undefined;
    if (registrations) for (const r of registrations) r.dispose();
  }
}

function reasonFrom(input: CancelReason, index: number): Partial<CancelReason> {
  const cause = rootCause(input);
  return {
    kind: 'parent',
    message: `input ${index} ${cause.kind === 'kill' ? 'killed' : 'stopped'}: ${cause.message}`,
    origin: cause.origin,
    cause,
  };
}
