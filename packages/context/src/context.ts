import { type Clock, isClock, systemClock, type TimerHandle } from './clock.js';
import { type Deferred, deferred } from './deferred.js';
import { describeArgument } from './describe-argument.js';
import { CancelledError, isCancelledError } from './errors.js';
import {
  type CancelReason,
  isFinishedReason,
  parentReason,
  type ReasonInput,
  toReason,
} from './reason.js';
import {
  type CancelCallback,
  Registrations,
  runCallback,
  type Subscription,
} from './registrations.js';
import { reportError } from './report.js';

export type { CancelCallback, Subscription };

/** `live → stopped → killed`; never backwards. */
export type ContextState = 'live' | 'stopped' | 'killed';

/**
 * How a request ended, known once its context is disposed. "Finished" is not "cancelled":
 * a context disposed without ever being stopped reports `completed`.
 */
export type Outcome =
  | { readonly status: 'completed' }
  | { readonly status: 'stopped' | 'killed'; readonly reason: CancelReason };

/** Options for {@link Context}. All are optional. */
export interface ContextOptions {
  /** The request id. Default: the parent's id, or a UUID generated when first read. */
  id?: string;
  /** Link the new context under this one. */
  parent?: Context;
  /** Absolute deadline, epoch ms. The earlier of this, `timeoutMs` and the parent's wins. */
  deadline?: number;
  /** Relative deadline, ms from now. */
  timeoutMs?: number;
  /** An outside AbortSignal to follow: its abort stops this context (kind `signal`). */
  signal?: AbortSignal;
  /** Time source; children inherit it. Use {@link TestClock} in tests. */
  clock?: Clock;
}

/** Options for {@link Context.child}. */
export type ChildOptions = Omit<ContextOptions, 'parent' | 'clock'>;

/** Called with the outcome when a context is disposed. */
export type Finalizer = (outcome: Outcome) => void;

const LIVE = 0;
const STOPPED = 1;
const KILLED = 2;
const STATE_MASK = 3;
const DISPOSED = 4;
const STATE_NAMES: readonly ContextState[] = ['live', 'stopped', 'killed'];

const COMPLETED: Outcome = Object.freeze({ status: 'completed' });
const NOOP_DISPOSABLE: Subscription = Object.freeze({
  dispose() {},
  [Symbol.dispose]() {},
});

/** What `linkChild` returns: disposing it unlinks the child without cancelling it. */
class Link implements Subscription {
  constructor(
    private readonly parent: Context,
    private readonly child: Context,
  ) {}
  dispose(): void {
    unlink(this.parent, this.child);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

// The parts most contexts never use live here, so a plain context stays small.
class Extras {
  stopCallbacks: Registrations | undefined = undefined;
  killCallbacks: Registrations | undefined = undefined;
  stopped: Deferred<void> | undefined = undefined;
  killed: Deferred<void> | undefined = undefined;
  either: Deferred<'stopped' | 'killed'> | undefined = undefined;
  outcome: Deferred<Outcome> | undefined = undefined;
  controller: AbortController | undefined = undefined;
  finalizers: Finalizer[] | undefined = undefined;
  timer: TimerHandle | undefined = undefined;
  followed: AbortSignal | undefined = undefined;
  onFollowedAbort: (() => void) | undefined = undefined;
}

// A transition's side effects, captured when the state changes so that they run exactly
// once even if a callback disposes the context before its turn comes.
interface Effect {
  readonly node: Context;
  readonly from: number;
  readonly to: number;
  /** The context's sticky reason (the first trigger). */
  readonly reason: CancelReason;
  /** This transition's own trigger: differs from `reason` when a kill escalates a stop. */
  readonly trigger: CancelReason;
  readonly stopCallbacks: Registrations | undefined;
  readonly killCallbacks: Registrations | undefined;
}

let unlink: (parent: Context, child: Context) => void;

/** @internal For tests: the children linked under `ctx`, in link order. */
export let linkedChildren: (ctx: Context) => Context[];
/** @internal For tests: the parent `ctx` is linked under, if any. */
export let linkedParent: (ctx: Context) => Context | undefined;
/** @internal For tests: how many onStop/onKill callbacks `ctx` holds. */
export let registrationCount: (ctx: Context) => number;

/**
 * The cancellation state of one request in one process.
 *
 * Guarantees:
 * - State is monotonic: `live → stopped → killed`. `stop()` after `kill()` does nothing;
 *   `kill()` after `stop()` escalates. Every call is idempotent.
 * - The first trigger's {@link reason} sticks.
 * - A stop or kill reaches linked children (in link order) and all their descendants; every
 *   state in the subtree is set before any callback runs, so no link can fall between.
 * - A child linked under a stopped or killed parent is stopped or killed at once.
 * - `dispose()` finishes the request: it is not a cancellation. It unlinks from the parent,
 *   stops children that are still live (their work outlived the request), clears timers and
 *   listeners, and runs finalizers. A disposed context never changes state again.
 * - Propagation is iterative: trees of any depth or width cost no stack.
 *
 * @example
 * const ctx = new Context({ timeoutMs: 5_000 });
 * const sub = ctx.child();            // same id, same or earlier deadline
 * setTimeout(() => ctx.stop('user pressed stop'), 100);
 * await sub.stopped();                // resolves when ctx (and so sub) stops
 * sub.reason?.kind;                   // 'parent'; sub.reason.cause.kind === 'stop'
 * ctx.dispose();
 */
export class Context implements Disposable {
  // A string, undefined (generate on first read), or the context whose id this one shares.
  #id: string | Context | undefined = undefined;
  #flags = LIVE;
  #reason: CancelReason | undefined = undefined;
  #deadline: number | undefined = undefined;
  #clock: Clock = systemClock;
  #parent: Context | undefined = undefined;
  #prev: Context | undefined = undefined;
  #next: Context | undefined = undefined;
  #head: Context | undefined = undefined;
  #tail: Context | undefined = undefined;
  #extras: Extras | undefined = undefined;

  constructor(options?: ContextOptions) {
    if (options === undefined) return;
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        `new Context(options): options must be an object, got ${describeArgument(options)}`,
      );
    }
    const { parent, clock } = options;
    if (parent !== undefined && !(parent instanceof Context)) {
      throw new TypeError(
        `new Context(options): options.parent must be a Context, got ${describeArgument(parent)}`,
      );
    }
    if (clock !== undefined) {
      if (!isClock(clock)) {
        throw new TypeError(
          'new Context(options): options.clock must have now(), setTimer() and clearTimer()',
        );
      }
      this.#clock = clock;
    } else if (parent) {
      this.#clock = parent.#clock;
    }
    if (parent) {
      if (parent.#flags & DISPOSED) {
        throw new TypeError(
          'new Context(options): options.parent is disposed; a finished request takes no children',
        );
      }
      this.#id = parent.#id ?? parent;
    }
    this.#setup('new Context(options)', options, parent);
  }

  // ── identity and state ────────────────────────────────────────────────────────────

  /** The request id: given, inherited from the parent, or a UUID generated on first read. */
  get id(): string {
    const own = this.#id;
    if (typeof own === 'string') return own;
    let holder: Context = this;
    while (holder.#id instanceof Context) holder = holder.#id;
    let id = holder.#id as string | undefined;
    if (id === undefined) {
      id = globalThis.crypto.randomUUID();
      holder.#id = id;
    }
    this.#id = id;
    return id;
  }

  /** `live`, `stopped` or `killed`. */
  get state(): ContextState {
    return STATE_NAMES[this.#flags & STATE_MASK]!;
  }

  /** True after `stop()` or `kill()` (or a cancellation that reached this context). */
  isStopped(): boolean {
    return (this.#flags & STATE_MASK) !== LIVE;
  }

  /** True after `kill()` only. */
  isKilled(): boolean {
    return (this.#flags & STATE_MASK) === KILLED;
  }

  /** True once `dispose()` has run. */
  get disposed(): boolean {
    return (this.#flags & DISPOSED) !== 0;
  }

  /** Why this context was stopped or killed; `undefined` while live. Set once. */
  get reason(): CancelReason | undefined {
    return this.#reason;
  }

  /** The effective absolute deadline (epoch ms), or `undefined` for none. */
  get deadline(): number | undefined {
    return this.#deadline;
  }

  /** Milliseconds left until the deadline (never negative); `Infinity` without one. */
  remainingMs(): number {
    const deadline = this.#deadline;
    return deadline === undefined
      ? Number.POSITIVE_INFINITY
      : Math.max(0, deadline - this.#clock.now());
  }

  /** The clock this context reads (inherited by children). */
  get clock(): Clock {
    return this.#clock;
  }

  // ── triggers ──────────────────────────────────────────────────────────────────────

  /**
   * Asks for a graceful stop: produce nothing new; items already sent stay valid.
   * Accepts a message or a partial reason (default kind `stop`). No-op once stopped,
   * killed or disposed.
   */
  stop(reason?: ReasonInput): void {
    this.#trigger(STOPPED, reason, 'stop');
  }

  /** Alias of {@link stop}, for code written against it; `stop()` is the name to use. */
  stopGenerating(reason?: ReasonInput): void {
    this.#trigger(STOPPED, reason, 'stop');
  }

  /** Asks to end now, without draining. Escalates a stopped context; default kind `kill`. */
  kill(reason?: ReasonInput): void {
    this.#trigger(KILLED, reason, 'kill');
  }

  /** Throws {@link CancelledError} (with the reason) if this context is stopped or killed. */
  throwIfStopped(): void {
    if (this.isStopped()) throw new CancelledError(this.#reason!);
  }

  // ── waiting ───────────────────────────────────────────────────────────────────────

  /**
   * Resolves when this context is stopped or killed; at once if it already is. A context
   * that completes without being stopped never resolves it: race it with {@link outcome}
   * when you need both.
   */
  stopped(): Promise<void> {
    if (this.isStopped()) return Promise.resolve();
    const extras = this.#ensureExtras();
    extras.stopped ??= deferred<void>();
    return extras.stopped.promise;
  }

  /** Resolves when this context is killed; at once if it already is. */
  killed(): Promise<void> {
    if (this.isKilled()) return Promise.resolve();
    const extras = this.#ensureExtras();
    extras.killed ??= deferred<void>();
    return extras.killed.promise;
  }

  /** Resolves with the state first reached: `'stopped'`, or `'killed'` if killed outright. */
  killedOrStopped(): Promise<'stopped' | 'killed'> {
    const state = this.#flags & STATE_MASK;
    if (state !== LIVE) return Promise.resolve(state === KILLED ? 'killed' : 'stopped');
    const extras = this.#ensureExtras();
    extras.either ??= deferred<'stopped' | 'killed'>();
    return extras.either.promise;
  }

  /** Resolves at `dispose()` with how the request ended: completed, stopped or killed. */
  outcome(): Promise<Outcome> {
    if (this.#flags & DISPOSED) return Promise.resolve(this.#outcomeNow());
    const extras = this.#ensureExtras();
    extras.outcome ??= deferred<Outcome>();
    return extras.outcome.promise;
  }

  // ── callbacks and finalizers ──────────────────────────────────────────────────────

  /**
   * Runs `callback(reason)` when this context is stopped (or killed). Runs it at once,
   * synchronously, if the context already is. A throwing callback does not stop the
   * others; its error goes to the error reporter. Dispose the result to unregister.
   */
  onStop(callback: CancelCallback): Subscription {
    return this.#register(callback, STOPPED, 'onStop');
  }

  /**
   * Like {@link onStop}, for `kill()` only. The callback receives the kill's own reason,
   * which differs from the sticky {@link reason} when a kill escalates an earlier stop.
   */
  onKill(callback: CancelCallback): Subscription {
    return this.#register(callback, KILLED, 'onKill');
  }

  /**
   * Registers a finalizer. Finalizers run last-in-first-out at `dispose()` and receive the
   * outcome. On an already disposed context the finalizer runs at once.
   */
  defer(finalizer: Finalizer): void {
    if (typeof finalizer !== 'function') {
      throw new TypeError(
        `defer(finalizer): finalizer must be a function, got ${describeArgument(finalizer)}`,
      );
    }
    if (this.#flags & DISPOSED) {
      runFinalizer(finalizer, this.#outcomeNow());
      return;
    }
    const extras = this.#ensureExtras();
    (extras.finalizers ??= []).push(finalizer);
  }

  // ── AbortSignal interop ───────────────────────────────────────────────────────────

  /**
   * An AbortSignal aborted (with a {@link CancelledError} as its reason) when this context
   * stops. Created on first read; contexts that never read it pay nothing.
   */
  get signal(): AbortSignal {
    const extras = this.#ensureExtras();
    if (extras.controller === undefined) {
      extras.controller = new AbortController();
      if (this.isStopped()) extras.controller.abort(new CancelledError(this.#reason!));
    }
    return extras.controller.signal;
  }

  // ── links ─────────────────────────────────────────────────────────────────────────

  /**
   * Creates a context linked under this one: same id (unless given), a deadline no later
   * than this one's, the same clock. It is stopped at once if this one already is.
   */
  child(options?: ChildOptions): Context {
    if (this.#flags & DISPOSED) {
      throw new TypeError(
        'child(): this context is disposed; a finished request takes no children',
      );
    }
    const child = new Context();
    child.#clock = this.#clock;
    child.#id = this.#id ?? this;
    if (options === undefined) {
      child.#deadline = this.#deadline;
      this.#attach(child);
    } else {
      if (typeof options !== 'object' || options === null) {
        throw new TypeError(
          `child(options): options must be an object, got ${describeArgument(options)}`,
        );
      }
      child.#setup('child(options)', options, this);
    }
    return child;
  }

  /**
   * Links `child` under this context: this context's stop and kill reach it, after this
   * context's own state is set. A child linked under a stopped or killed context is
   * stopped or killed at once. A context has one parent at a time (use `any()` to follow
   * several). Throws a TypeError for a disposed context on either side, a child that
   * already has a parent, or a link that would make a cycle.
   *
   * @returns a disposable that unlinks the child (without cancelling it).
   */
  linkChild(child: Context): Subscription {
    if (!(child instanceof Context)) {
      throw new TypeError(
        `linkChild(child): child must be a Context, got ${describeArgument(child)}`,
      );
    }
    if (this.#flags & DISPOSED) throw new TypeError('linkChild(child): this context is disposed');
    if (child.#flags & DISPOSED) throw new TypeError('linkChild(child): child is disposed');
    if (child.#parent !== undefined) {
      throw new TypeError(
        child.#parent === this
          ? 'linkChild(child): child is already linked to this context'
          : 'linkChild(child): child already has a parent; unlink it first or use any()',
      );
    }
    if (child === this || (child.#head !== undefined && this.#hasAncestor(child))) {
      throw new TypeError(
        'linkChild(child): linking would make a cycle (child is an ancestor of this context)',
      );
    }
    this.#attach(child);
    return new Link(this, child);
  }

  // ── disposal ──────────────────────────────────────────────────────────────────────

  /**
   * Finishes the request. Not a cancellation: a never-stopped context reports `completed`.
   * Unlinks from the parent and from a followed signal, clears the deadline timer, stops
   * children that are still live (kind `parent`), runs finalizers last-in-first-out and
   * resolves {@link outcome}. Idempotent.
   */
  dispose(): void {
    const flags = this.#flags;
    if (flags & DISPOSED) return;
    this.#flags = flags | DISPOSED;
    if (this.#parent !== undefined) this.#detach();
    if (this.#head !== undefined) this.#releaseChildren();
    const extras = this.#extras;
    if (extras === undefined) return;
    this.#clearTimerAndSignal(extras);
    extras.stopCallbacks = undefined;
    extras.killCallbacks = undefined;
    const outcome = this.#outcomeNow();
    const finalizers = extras.finalizers;
    extras.finalizers = undefined;
    if (finalizers) {
      for (let i = finalizers.length - 1; i >= 0; i--) runFinalizer(finalizers[i]!, outcome);
    }
    extras.outcome?.resolve(outcome);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ── internals ─────────────────────────────────────────────────────────────────────

  #setup(where: string, options: ContextOptions, parent: Context | undefined): void {
    const { id, deadline, timeoutMs, signal } = options;
    if (id !== undefined) {
      if (typeof id !== 'string' || id.length === 0) {
        throw new TypeError(
          `${where}: options.id must be a non-empty string, got ${describeArgument(id)}`,
        );
      }
      this.#id = id;
    }
    if (deadline !== undefined && (typeof deadline !== 'number' || !Number.isFinite(deadline))) {
      throw new TypeError(
        `${where}: options.deadline must be a finite number (epoch ms), got ${describeArgument(deadline)}`,
      );
    }
    if (
      timeoutMs !== undefined &&
      (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs))
    ) {
      throw new TypeError(
        `${where}: options.timeoutMs must be a finite number >= 0, got ${describeArgument(timeoutMs)}`,
      );
    }
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw new TypeError(
        `${where}: options.signal must be an AbortSignal, got ${describeArgument(signal)}`,
      );
    }
    let own = deadline;
    if (timeoutMs !== undefined) {
      const fromTimeout = this.#clock.now() + timeoutMs;
      own = own === undefined ? fromTimeout : Math.min(own, fromTimeout);
    }
    const inherited = parent === undefined ? undefined : parent.#deadline;
    const ownIsEarlier = own !== undefined && (inherited === undefined || own < inherited);
    this.#deadline = ownIsEarlier ? own : inherited;

    if (parent) parent.#attach(this);
    if (signal !== undefined && !this.isStopped()) this.#follow(signal);
    // An inherited deadline is enforced by the ancestor that owns it.
    if (ownIsEarlier && !this.isStopped()) this.#armDeadline();
  }

  #attach(child: Context): void {
    child.#parent = this;
    const tail = this.#tail;
    child.#prev = tail;
    if (tail === undefined) this.#head = child;
    else tail.#next = child;
    this.#tail = child;
    const state = this.#flags & STATE_MASK;
    if (state !== LIVE) {
      const now = this.#clock.now();
      Context.#propagate(child, state, parentReason(this.#reason!, now), now);
    }
  }

  #detach(): void {
    const parent = this.#parent!;
    const prev = this.#prev;
    const next = this.#next;
    if (prev === undefined) parent.#head = next;
    else prev.#next = next;
    if (next === undefined) parent.#tail = prev;
    else next.#prev = prev;
    this.#parent = undefined;
    this.#prev = undefined;
    this.#next = undefined;
  }

  // Link (below) needs to reach private state; a static block grants that without making
  // unlinking a public method.
  static {
    linkedChildren = (ctx) => {
      const children: Context[] = [];
      for (let c = ctx.#head; c !== undefined; c = c.#next) children.push(c);
      return children;
    };
    linkedParent = (ctx) => ctx.#parent;
    registrationCount = (ctx) =>
      (ctx.#extras?.stopCallbacks?.size ?? 0) + (ctx.#extras?.killCallbacks?.size ?? 0);
    unlink = (parent, child) => {
      if (child.#parent !== parent) return;
      child.#detach();
      // The parent's deadline no longer reaches this child; enforce it here instead.
      const extras = child.#extras;
      if (
        child.#deadline !== undefined &&
        !child.isStopped() &&
        !child.disposed &&
        extras?.timer === undefined
      ) {
        child.#armDeadline();
      }
    };
  }

  #releaseChildren(): void {
    let reason: CancelReason | undefined;
    let now = 0;
    for (let child = this.#head; child !== undefined; ) {
      const next = child.#next;
      child.#parent = undefined;
      child.#prev = undefined;
      child.#next = undefined;
      if ((child.#flags & STATE_MASK) === LIVE) {
        if (reason === undefined) {
          now = this.#clock.now();
          reason = Object.freeze({
            kind: 'parent',
            message: 'parent context finished (disposed) while this child was still live',
            origin: 'local',
            at: now,
          });
        }
        Context.#propagate(child, STOPPED, reason, now);
      }
      child = next;
    }
    this.#head = undefined;
    this.#tail = undefined;
  }

  #hasAncestor(candidate: Context): boolean {
    for (let node: Context | undefined = this; node !== undefined; node = node.#parent) {
      if (node === candidate) return true;
    }
    return false;
  }

  #trigger(target: number, input: ReasonInput, defaultKind: 'stop' | 'kill'): void {
    const flags = this.#flags;
    if (flags & DISPOSED || (flags & STATE_MASK) >= target) {
      // Nothing changes, but bad input is still reported rather than ignored.
      if (input !== undefined) toReason(input, defaultKind, 0);
      return;
    }
    // A finished reason (from the wire, or another context) needs no clock read: a cold
    // Date.now() costs microseconds, and children that need a time read it lazily.
    if (input !== undefined && isFinishedReason(input)) {
      Context.#propagate(this, target, input, undefined);
      return;
    }
    const now = this.#clock.now();
    Context.#propagate(this, target, toReason(input, defaultKind, now), now);
  }

  /**
   * Sets the state of `root` and its whole subtree first, then runs the side effects.
   *
   * The walk is pre-order over the intrusive links, so it needs no stack and no
   * allocation beyond the effects it records: the stop path runs once per request, cold,
   * and what it touches is its latency.
   */
  static #propagate(
    root: Context,
    target: number,
    reason: CancelReason,
    now: number | undefined,
  ): void {
    let first: Effect | undefined;
    let more: Effect[] | undefined;
    let inherited: CancelReason | undefined;
    let node: Context | undefined = root;
    while (node !== undefined) {
      const flags = node.#flags;
      const from = flags & STATE_MASK;
      const changes = from < target && (flags & DISPOSED) === 0;
      if (changes) {
        node.#flags = (flags & ~STATE_MASK) | target;
        const trigger =
          node === root ? reason : (inherited ??= parentReason(reason, now ?? root.#clock.now()));
        if (node.#reason === undefined) node.#reason = trigger;
        const extras = node.#extras;
        if (extras !== undefined) {
          const stopCallbacks = from === LIVE ? extras.stopCallbacks : undefined;
          const killCallbacks = target === KILLED ? extras.killCallbacks : undefined;
          if (stopCallbacks) extras.stopCallbacks = undefined;
          if (killCallbacks) extras.killCallbacks = undefined;
          const effect: Effect = {
            node,
            from,
            to: target,
            reason: node.#reason,
            trigger,
            stopCallbacks,
            killCallbacks,
          };
          if (first === undefined) first = effect;
          else (more ??= []).push(effect);
        }
      }
      // The next node in pre-order, skipping unchanged subtrees. Written out rather than
      // a helper call (docs/ARCHITECTURE.md, "The stop path runs cold").
      if (changes && node.#head !== undefined) node = node.#head;
      else {
        let at: Context = node;
        while (at !== root && at.#next === undefined) at = at.#parent!;
        node = at === root ? undefined : at.#next;
      }
    }
    if (first !== undefined) first.node.#runEffects(first);
    if (more !== undefined) for (const effect of more) effect.node.#runEffects(effect);
  }

  #runEffects(effect: Effect): void {
    const extras = this.#extras!;
    const { reason } = effect;
    if (effect.from === LIVE) {
      if (extras.timer !== undefined || extras.followed !== undefined) {
        this.#clearTimerAndSignal(extras);
      }
      extras.either?.resolve(effect.to === KILLED ? 'killed' : 'stopped');
      extras.stopped?.resolve();
      extras.controller?.abort(new CancelledError(reason));
      effect.stopCallbacks?.run(reason, 'an onStop callback');
    }
    if (effect.to === KILLED) {
      extras.killed?.resolve();
      // A kill that escalates a stop tells its own reason; `ctx.reason` keeps the first.
      effect.killCallbacks?.run(effect.trigger, 'an onKill callback');
    }
  }

  #register(callback: CancelCallback, level: number, where: string): Subscription {
    if (typeof callback !== 'function') {
      throw new TypeError(
        `${where}(callback): callback must be a function, got ${describeArgument(callback)}`,
      );
    }
    if ((this.#flags & STATE_MASK) >= level) {
      runCallback(callback, this.#reason!, `an ${where} callback`);
      return NOOP_DISPOSABLE;
    }
    // A disposed context never changes state, so the callback could never run.
    if (this.#flags & DISPOSED) return NOOP_DISPOSABLE;
    const extras = this.#ensureExtras();
    const list =
      level === STOPPED
        ? (extras.stopCallbacks ??= new Registrations())
        : (extras.killCallbacks ??= new Registrations());
    return list.add(callback);
  }

  #follow(signal: AbortSignal): void {
    if (signal.aborted) {
      this.#trigger(STOPPED, signalReason(signal), 'stop');
      return;
    }
    const extras = this.#ensureExtras();
    const onAbort = () => this.#trigger(STOPPED, signalReason(signal), 'stop');
    extras.followed = signal;
    extras.onFollowedAbort = onAbort;
    signal.addEventListener('abort', onAbort, { once: true });
  }

  #armDeadline(): void {
    const extras = this.#ensureExtras();
    const delay = this.#deadline! - this.#clock.now();
    if (delay <= 0) {
      this.#trigger(STOPPED, { kind: 'deadline' }, 'stop');
      return;
    }
    extras.timer = this.#clock.setTimer(() => {
      extras.timer = undefined;
      this.#trigger(STOPPED, { kind: 'deadline' }, 'stop');
    }, delay);
  }

  #clearTimerAndSignal(extras: Extras): void {
    if (extras.timer !== undefined) {
      this.#clock.clearTimer(extras.timer);
      extras.timer = undefined;
    }
    if (extras.followed !== undefined) {
      extras.followed.removeEventListener('abort', extras.onFollowedAbort!);
      extras.followed = undefined;
      extras.onFollowedAbort = undefined;
    }
  }

  #ensureExtras(): Extras {
    let extras = this.#extras;
    if (extras === undefined) {
      extras = new Extras();
      this.#extras = extras;
    }
    return extras;
  }

  #outcomeNow(): Outcome {
    const state = this.#flags & STATE_MASK;
    if (state === LIVE) return COMPLETED;
    return Object.freeze({
      status: state === KILLED ? 'killed' : 'stopped',
      reason: this.#reason!,
    });
  }
}

function runFinalizer(finalizer: Finalizer, outcome: Outcome): void {
  try {
    const result: unknown = finalizer(outcome);
    if (result instanceof Promise)
      result.catch((error: unknown) => reportError(error, 'a defer finalizer'));
  } catch (error) {
    reportError(error, 'a defer finalizer');
  }
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AbortSignal).aborted === 'boolean' &&
    typeof (value as AbortSignal).addEventListener === 'function'
  );
}

function signalReason(signal: AbortSignal): Partial<CancelReason> {
  const cause: unknown = signal.reason;
  if (isCancelledError(cause)) {
    return {
      kind: 'signal',
      message: `followed signal aborted: ${cause.reason.message}`,
      cause: cause.reason,
    };
  }
  const message =
    cause instanceof Error ? cause.message : cause === undefined ? 'aborted' : String(cause);
  return { kind: 'signal', message: `followed signal aborted: ${message}`, origin: 'AbortSignal' };
}
