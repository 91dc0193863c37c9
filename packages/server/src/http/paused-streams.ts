import { CancelledError, type Context } from '@andon/context';
import { mayAccess, type Principal } from '../auth/principal.js';

/**
 * The pause state of one streaming completion. The streaming loop calls
 * {@link whilePaused} before it sends each chunk: while paused it stops pulling from the
 * backend, and bounded buffers on every hop behind it (the runtime's credit window, the
 * engine's `maxUnreadTokens`) stop the decoding within a few tokens.
 */
export class PauseGate {
  #paused = false;
  #wake: (() => void) | undefined;

  get paused(): boolean {
    return this.#paused;
  }

  /** Sets the state; resuming wakes a waiting loop. Returns the new state. */
  set(paused: boolean): boolean {
    this.#paused = paused;
    if (!paused) {
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    }
    return paused;
  }

  /**
   * Resolves at once when not paused, else on resume. Rejects with CancelledError as soon as
   * `context` stops (a stop, a kill, the client leaving): a paused request still ends at once.
   */
  whilePaused(context: Context): Promise<void> {
    if (!this.#paused) return Promise.resolve();
    if (context.isStopped()) return Promise.reject(new CancelledError(context.reason!));
    return new Promise((resolve, reject) => {
      const registration = context.onStop((reason) => {
        this.#wake = undefined;
        reject(new CancelledError(reason));
      });
      this.#wake = () => {
        registration[Symbol.dispose]();
        resolve();
      };
    });
  }
}

interface Entry {
  readonly gate: PauseGate;
  readonly owner: Principal;
}

/** What {@link PausedStreams.set} found. */
export type PauseOutcome = 'not_found' | 'forbidden' | { paused: boolean };

/**
 * The in-flight streaming completions by request id (the client's `x-request-id`), so that
 * `POST /v1/requests/{id}/pause` can reach one. Ids come from clients and need not be
 * unique: a pause reaches every in-flight stream with that id the caller may pause.
 */
export class PausedStreams {
  readonly #byId = new Map<string, Set<Entry>>();

  /** Registers a stream; dispose the result when it ends. */
  register(requestId: string, owner: Principal): PauseGate & Disposable {
    const entry: Entry = { gate: new PauseGate(), owner };
    let entries = this.#byId.get(requestId);
    if (entries === undefined) {
      entries = new Set();
      this.#byId.set(requestId, entries);
    }
    entries.add(entry);
    const set = entries;
    return Object.assign(entry.gate, {
      [Symbol.dispose]: () => {
        set.delete(entry);
        if (set.size === 0 && this.#byId.get(requestId) === set) this.#byId.delete(requestId);
      },
    });
  }

  /** Pauses or resumes the streams with this id that `principal` may reach. */
  set(requestId: string, principal: Principal, paused: boolean): PauseOutcome {
    const entries = this.#byId.get(requestId);
    if (entries === undefined) return 'not_found';
    const allowed = [...entries].filter((entry) => mayAccess(principal, entry.owner.user));
    if (allowed.length === 0) return 'forbidden';
    for (const entry of allowed) entry.gate.set(paused);
    return { paused };
  }
}
