import { Context, type ContextState, type Subscription } from './context.js';
import { describeArgument } from './describe-argument.js';
import { CancelledError } from './errors.js';
import { assertContext } from './guard.js';
import { type CancelReason, type ReasonInput, toReason } from './reason.js';

// Buffer layout. Int32 words first, then a float64, then the id bytes, then the reason bytes.
const STATE = 0; // 0 live, 1 stopped, 2 killed: only ever raised, with compareExchange
const CLAIM = 1; // 0 until one thread owns the right to write the reason
const REASON_LEN = 2; // bytes of reason JSON written (0: none, or lost)
const ID_LEN = 3;
const REASON_CAP = 4;
const MAGIC_WORD = 5;
const DEADLINE_F64 = 3; // Float64Array index: byte offset 24; NaN for none
const HEADER_BYTES = 32;
const MAGIC = 0x616e646f; // 'ando'

const LIVE = 0;
const STOPPED = 1;
const KILLED = 2;
const STATE_NAMES: readonly ContextState[] = ['live', 'stopped', 'killed'];

// A reader that catches a writer between claiming and publishing spins this long at most; a
// writer is never interrupted by JS code, so only a thread that was terminated mid-write
// (its reason is lost, the state still crosses) lets the bound matter.
const SPIN_LIMIT = 1_000_000;
// Waiting on `stopped()` must keep a worker thread's event loop alive (a pending
// Atomics.waitAsync does not); this timer never does any work.
const KEEP_ALIVE_MS = 2_147_483_647;

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
// Typed by hand: the ES2024 lib that declares it is newer than the one this package targets.
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options for {@link shareContext}. */
export interface ShareOptions {
  /** Room for the encoded reason, in bytes (default 1024, at least 64). Longer reasons are shortened. */
  reasonBytes?: number;
}

/**
 * One context seen from several threads through a `SharedArrayBuffer`. The owning thread
 * creates it with {@link shareContext} and posts {@link buffer} to a worker thread (in
 * `workerData` or a message); that thread opens it with {@link openSharedContext}.
 *
 * Guarantees:
 * - {@link isStopped} and {@link isKilled} are a single `Atomics.load`: a CPU-bound loop
 *   sees a stop from any thread on its next check, without yielding.
 * - `stop()` / `kill()` from any thread, or of the owner's context, are synchronous for the
 *   caller and wake every other thread's event loop at once (`Atomics.waitAsync`, no
 *   polling). State is monotonic across threads; kill escalates a stop.
 * - The first reason crosses with the state (it is encoded in the buffer).
 * - {@link context} is an ordinary {@link Context} on this thread that follows the shared
 *   state (its callbacks, `signal`, `stopped()`, children all work). It catches up when this
 *   thread's event loop runs, or at once when you read {@link state} or {@link reason} or call
 *   {@link throwIfStopped}.
 * - Disposing the owner's context stops the other threads' views (kind `parent`), as dispose
 *   does for live children. Disposing a worker thread's view releases only that thread.
 * - Nothing here keeps a thread alive, except a pending `stopped()` / `killed()` /
 *   `killedOrStopped()` promise of this object (so that a worker thread can just await it);
 *   dispose releases that too.
 *
 * @example
 * // main thread
 * const shared = shareContext(ctx);
 * const worker = new Worker(new URL('./crunch.js', import.meta.url), { workerData: shared.buffer });
 * setTimeout(() => ctx.stop('enough'), 1_000);
 *
 * // crunch.js (worker thread)
 * const shared = openSharedContext(workerData);
 * while (!shared.isStopped()) crunchOneBlock();
 * shared.dispose();
 */
export class SharedContext implements Disposable {
  /** Post this to the other thread. */
  readonly buffer: SharedArrayBuffer;
  /** This thread's view, a plain Context that follows the shared state. */
  readonly context: Context;
  readonly #words: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #reasonOffset: number;
  readonly #owner: boolean;
  #registrations: Subscription[] = [];
  #disposed = false;
  #waiters = 0;
  #keepAlive: ReturnType<typeof setInterval> | undefined;

  private constructor(buffer: SharedArrayBuffer, context: Context, owner: boolean) {
    this.buffer = buffer;
    this.context = context;
    this.#owner = owner;
    this.#words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#bytes = new Uint8Array(buffer);
    this.#reasonOffset = HEADER_BYTES + align4(this.#words[ID_LEN]!);
  }

  /** Shares `ctx` (see {@link shareContext}). */
  static share(ctx: Context, options?: ShareOptions): SharedContext {
    const where = 'shareContext(ctx, options)';
    assertContext(ctx, where);
    if (ctx.disposed) throw new TypeError(`${where}: ctx is disposed`);
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw new TypeError(`${where}: options must be an object, got ${describeArgument(options)}`);
    }
    const reasonBytes = options?.reasonBytes ?? 1024;
    if (!Number.isInteger(reasonBytes) || reasonBytes < 64 || reasonBytes > 1 << 20) {
      throw new TypeError(
        `${where}: options.reasonBytes must be an integer from 64 to 1048576, got ${describeArgument(reasonBytes)}`,
      );
    }
    requireWaitAsync(where);
    const id = encoder.encode(ctx.id);
    const buffer = new SharedArrayBuffer(HEADER_BYTES + align4(id.length) + align4(reasonBytes));
    const words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    words[ID_LEN] = id.length;
    words[REASON_CAP] = align4(reasonBytes);
    words[MAGIC_WORD] = MAGIC;
    new Float64Array(buffer, 0, HEADER_BYTES / 8)[DEADLINE_F64] = ctx.deadline ?? Number.NaN;
    new Uint8Array(buffer).set(id, HEADER_BYTES);
    const shared = new SharedContext(buffer, ctx, true);
    shared.#start();
    return shared;
  }

  /** Opens a buffer made by {@link shareContext} (see {@link openSharedContext}). */
  static open(buffer: SharedArrayBuffer): SharedContext {
    const where = 'openSharedContext(buffer)';
    if (
      !(buffer instanceof SharedArrayBuffer) ||
      buffer.byteLength < HEADER_BYTES ||
      new Int32Array(buffer, 0, HEADER_BYTES / 4)[MAGIC_WORD] !== MAGIC
    ) {
      throw new TypeError(
        `${where}: buffer must be the SharedArrayBuffer of a shareContext() result, got ${describeArgument(buffer)}`,
      );
    }
    requireWaitAsync(where);
    const words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    const id = decoder.decode(
      new Uint8Array(buffer).slice(HEADER_BYTES, HEADER_BYTES + words[ID_LEN]!),
    );
    const deadline = new Float64Array(buffer, 0, HEADER_BYTES / 8)[DEADLINE_F64]!;
    const context = new Context(Number.isNaN(deadline) ? { id } : { id, deadline });
    const shared = new SharedContext(buffer, context, false);
    shared.#start();
    return shared;
  }

  /** The request id (it crosses with the buffer). */
  get id(): string {
    return this.context.id;
  }

  /** True once stopped or killed from any thread. One `Atomics.load`. */
  isStopped(): boolean {
    return Atomics.load(this.#words, STATE) !== LIVE;
  }

  /** True once killed from any thread. One `Atomics.load`. */
  isKilled(): boolean {
    return Atomics.load(this.#words, STATE) === KILLED;
  }

  /** The shared state: `live`, `stopped` or `killed`. */
  get state(): ContextState {
    this.#sync();
    return STATE_NAMES[Atomics.load(this.#words, STATE)]!;
  }

  /** The reason that crossed (the first trigger's, on whichever thread). */
  get reason(): CancelReason | undefined {
    this.#sync();
    return this.context.reason;
  }

  /** Stops the shared context: synchronous here, and wakes the other threads at once. */
  stop(reason?: ReasonInput): void {
    this.#trigger(STOPPED, reason, 'stop');
  }

  /** Alias of {@link stop}, for code written against it; `stop()` is the name to use. */
  stopGenerating(reason?: ReasonInput): void {
    this.#trigger(STOPPED, reason, 'stop');
  }

  /** Kills the shared context (escalates a stop) on every thread. */
  kill(reason?: ReasonInput): void {
    this.#trigger(KILLED, reason, 'kill');
  }

  /** Throws {@link CancelledError} with the shared reason once stopped from any thread. */
  throwIfStopped(): void {
    if (Atomics.load(this.#words, STATE) === LIVE) return;
    this.#sync();
    throw new CancelledError(this.context.reason!);
  }

  /** Resolves when stopped from any thread; keeps this thread alive while pending. */
  stopped(): Promise<void> {
    return this.#wait(() => this.context.stopped());
  }

  /** Resolves when killed from any thread; keeps this thread alive while pending. */
  killed(): Promise<void> {
    return this.#wait(() => this.context.killed());
  }

  /** Resolves with `'stopped'` or `'killed'`; keeps this thread alive while pending. */
  killedOrStopped(): Promise<'stopped' | 'killed'> {
    return this.#wait(() => this.context.killedOrStopped());
  }

  /**
   * Releases this thread's side: the wake-up wait, the keep-alive, the registrations. On
   * the owner's side this also happens when the owner's context is disposed, and a shared
   * state still live is stopped (kind `parent`) so that no worker thread keeps working
   * for a finished request. A worker thread's view is disposed with it.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const registration of this.#registrations) registration.dispose();
    this.#registrations = [];
    if (this.#owner && Atomics.load(this.#words, STATE) === LIVE) {
      this.#publish(STOPPED, {
        kind: 'parent',
        message: 'owning context finished (disposed) while a thread still used it',
        origin: 'local',
        at: this.context.clock.now(),
      });
    } else {
      // Our own pending wait holds a closure over this object until woken; wake it so that
      // it can go. Waiters on other threads re-check the state and wait again.
      Atomics.notify(this.#words, STATE);
    }
    this.#releaseKeepAlive(true);
    if (!this.#owner) this.context.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #start(): void {
    const ctx = this.context;
    this.#registrations.push(
      ctx.onStop((reason) => this.#publish(STOPPED, reason)),
      ctx.onKill((reason) => this.#publish(KILLED, reason)),
    );
    if (this.#owner) ctx.defer(() => this.dispose());
    this.#sync();
    this.#listen();
  }

  #listen(): void {
    for (;;) {
      if (this.#disposed) return;
      const observed = Atomics.load(this.#words, STATE);
      if (observed === KILLED) return;
      const result = waitAsync!(this.#words, STATE, observed);
      if (result.async) {
        result.value.then(() => {
          if (this.#disposed) return;
          this.#sync();
          this.#listen();
        });
        return;
      }
      this.#sync();
    }
  }

  #trigger(target: number, input: ReasonInput, defaultKind: 'stop' | 'kill'): void {
    const reason = toReason(input, defaultKind, this.context.clock.now());
    if (this.#disposed) return;
    this.#publish(target, reason);
    this.#sync();
  }

  /** Raises the shared state to `target`, writing the reason if this thread is first. */
  #publish(target: number, reason: CancelReason): void {
    const words = this.#words;
    if (Atomics.load(words, STATE) >= target) return;
    if (Atomics.compareExchange(words, CLAIM, 0, 1) === 0) {
      this.#writeReason(reason);
    } else {
      // Another thread claimed the reason; it publishes a state right after writing it.
      for (let i = 0; i < SPIN_LIMIT && Atomics.load(words, STATE) === LIVE; i++);
    }
    for (;;) {
      const current = Atomics.load(words, STATE);
      if (current >= target) break;
      if (Atomics.compareExchange(words, STATE, current, target) === current) break;
    }
    Atomics.notify(words, STATE);
  }

  /** Brings this thread's context up to the shared state. */
  #sync(): void {
    const state = Atomics.load(this.#words, STATE);
    const ctx = this.context;
    if (state === LIVE || ctx.disposed) return;
    if (state === KILLED ? ctx.isKilled() : ctx.isStopped()) return;
    const reason = ctx.reason ?? this.#readReason(state);
    if (state === KILLED) ctx.kill(reason);
    else ctx.stop(reason);
  }

  #writeReason(reason: CancelReason): void {
    const cap = this.#words[REASON_CAP]!;
    const target = this.#bytes.subarray(this.#reasonOffset, this.#reasonOffset + cap);
    let written = encodeReason(reason, target);
    for (let keep = 512; written < 0 && keep >= 0; keep = keep === 0 ? -1 : keep >> 1) {
      written = encodeReason(
        {
          kind: reason.kind,
          message: `${reason.message.slice(0, keep)}…`,
          origin: reason.origin.slice(0, 32),
          at: reason.at,
        },
        target,
      );
    }
    Atomics.store(this.#words, REASON_LEN, Math.max(0, written));
  }

  #readReason(state: number): CancelReason {
    const length = Atomics.load(this.#words, REASON_LEN);
    const fallbackKind = state === KILLED ? 'kill' : 'stop';
    if (length > 0) {
      try {
        const start = this.#reasonOffset;
        // TextDecoder refuses views of shared memory; decode a private copy.
        const json = decoder.decode(this.#bytes.slice(start, start + length));
        return toReason(JSON.parse(json) as Partial<CancelReason>, fallbackKind, Date.now());
      } catch {
        // Fall through: a reason that cannot be read still leaves the state correct.
      }
    }
    return toReason('stopped from another thread (reason lost)', fallbackKind, Date.now());
  }

  #wait<T>(promise: () => Promise<T>): Promise<T> {
    this.#sync();
    const pending = promise();
    if (this.#disposed) return pending;
    if (this.#waiters++ === 0) this.#keepAlive = setInterval(noop, KEEP_ALIVE_MS);
    return pending.finally(() => this.#releaseKeepAlive(false));
  }

  #releaseKeepAlive(all: boolean): void {
    if (this.#waiters === 0) return;
    this.#waiters = all ? 0 : this.#waiters - 1;
    if (this.#waiters === 0) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }
}

/**
 * Shares `ctx` with other threads; post the result's `buffer` to a worker thread, which
 * opens it with {@link openSharedContext}. Stops and kills of `ctx` cross at once; so do stops
 * and kills from that thread, which reach `ctx` itself. Disposing `ctx` releases everything.
 *
 * @example
 * const shared = shareContext(ctx);
 * const worker = new Worker('./hash-worker.js', { workerData: { shared: shared.buffer, file } });
 */
export function shareContext(ctx: Context, options?: ShareOptions): SharedContext {
  return SharedContext.share(ctx, options);
}

/**
 * Opens, in a worker thread, a context shared by {@link shareContext}. Dispose it when the
 * thread's work for the request is over.
 *
 * @example
 * const shared = openSharedContext(workerData.shared);
 * let i = 0;
 * while (!shared.isStopped()) hashBlock(i++);   // one atomic read per check
 * shared.dispose();
 */
export function openSharedContext(buffer: SharedArrayBuffer): SharedContext {
  return SharedContext.open(buffer);
}

function encodeReason(reason: CancelReason, target: Uint8Array): number {
  const json = JSON.stringify(reason);
  // encodeInto writes at most target.length bytes; a full read means it all fit.
  const { read, written } = encoder.encodeInto(json, target);
  return read === json.length ? written : -1;
}

function requireWaitAsync(where: string): void {
  if (typeof waitAsync !== 'function') {
    throw new Error(`${where}: this runtime lacks Atomics.waitAsync, needed to wake other threads`);
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function noop(): void {}
