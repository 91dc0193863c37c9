import { cliEntry } from '../lib/cli-entry.js';
import { describeEnding, type Ending, TierProcess } from '../lib/tier-process.js';
import { READY_LINE } from './endpoints.js';

/** What {@link WorkerPool} starts. */
export interface PoolOptions {
  count: number;
  /** Arguments of each `andon worker` (after `worker`). */
  args: readonly string[];
  /** Added to each worker's environment (the shared secret, `ANDON_TOKEN`). */
  env?: Readonly<Record<string, string>>;
  /** Fail {@link WorkerPool.ready} unless every worker is ready within this long. */
  startupMs: number;
  /** How often one worker may be restarted within {@link RESTART_WINDOW_MS} before it is given up. */
  maxRestarts?: number;
  /** Called when a worker that was ready ended; `restarting` says whether it comes back. */
  lost(name: string, ending: Ending, restarting: boolean): void;
  /** Called when a restarted worker is ready again. */
  restarted?(worker: ReadyWorker, attempt: number): void;
}

/** A ready worker: its name in our output, and its metrics URL if it serves one. */
export interface ReadyWorker {
  name: string;
  instanceId: string;
  metricsUrl?: string;
}

/** Restarts counted against `maxRestarts` are those within this window. */
export const RESTART_WINDOW_MS = 60_000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;

/**
 * `andon worker` child processes, started with this CLI's own entry and supervised: one
 * that dies after it was ready is started again after a backoff (100 ms, doubling to 5 s),
 * at most `maxRestarts` times a minute (default 5), while the others go on serving; past
 * that it is given up and reported. Their output is relayed on our stderr with a
 * `[worker N] ` prefix. Each runs in its own process group (a Ctrl-C in the terminal
 * reaches only us, and we stop them in order) with a stdin pipe, so they also stop if we
 * die without cleaning up.
 */
export class WorkerPool {
  /** Resolves once every worker printed its ready line; rejects if one ends first or on timeout. */
  readonly ready: Promise<ReadyWorker[]>;
  readonly #options: PoolOptions;
  readonly #workers = new Map<string, TierProcess>();
  readonly #restarts = new Map<string, number[]>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopping = false;

  constructor(options: PoolOptions) {
    this.#options = options;
    const ready = new Map<string, ReadyWorker>();
    let fail!: (error: Error) => void;
    let succeed!: (workers: ReadyWorker[]) => void;
    this.ready = new Promise<ReadyWorker[]>((resolve, reject) => {
      succeed = resolve;
      fail = reject;
    });
    // Settling twice is harmless; the timer must not outlive the wait either way.
    const timer = setTimeout(
      () => fail(new Error(`the workers were not all ready within ${options.startupMs} ms`)),
      options.startupMs,
    );
    void this.ready.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    for (let i = 1; i <= options.count; i++) {
      const name = `worker ${i}`;
      this.#start(
        name,
        (worker) => {
          ready.set(name, worker);
          if (ready.size === options.count) succeed([...ready.values()]);
        },
        (ending) => fail(new Error(`${name} ${describeEnding(ending)} before it was ready`)),
      );
    }
  }

  /** Workers running now (restarting ones not counted). */
  get running(): number {
    return [...this.#workers.values()].filter((worker) => !worker.ended).length;
  }

  /** Ends every worker: SIGTERM (graceful), then SIGKILL after `killAfterMs`. */
  async stop(killAfterMs: number): Promise<void> {
    this.#stopping = true;
    this.#clearTimers();
    await Promise.all([...this.#workers.values()].map((worker) => worker.stop(killAfterMs)));
  }

  /** SIGKILL every worker now: for a process that is exiting and cannot wait. */
  killNow(): void {
    this.#stopping = true;
    this.#clearTimers();
    for (const worker of this.#workers.values()) worker.kill();
  }

  // Starts `name`; `onReady` once it prints its ready line, `onEarlyEnd` if it ends before.
  #start(
    name: string,
    onReady: (worker: ReadyWorker) => void,
    onEarlyEnd: (ending: Ending) => void,
  ): void {
    const relay = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
    let isReady = false;
    const worker = new TierProcess(
      name,
      cliEntry(),
      ['worker', ...this.#options.args],
      {
        stdout: (line) => {
          relay(line);
          const match = READY_LINE.exec(line);
          if (match === null || isReady) return;
          isReady = true;
          const [, instanceId, metricsUrl] = match;
          onReady({ name, instanceId: instanceId!, ...(metricsUrl ? { metricsUrl } : {}) });
        },
        stderr: relay,
        closed: (ending) => {
          if (this.#stopping) return;
          if (!isReady) onEarlyEnd(ending);
          else this.#superviseLoss(name, ending);
        },
      },
      this.#options.env,
    );
    this.#workers.set(name, worker);
  }

  #superviseLoss(name: string, ending: Ending): void {
    const now = Date.now();
    const recent = (this.#restarts.get(name) ?? []).filter((at) => now - at < RESTART_WINDOW_MS);
    const restarting = recent.length < (this.#options.maxRestarts ?? 5);
    this.#options.lost(name, ending, restarting);
    if (!restarting) return;
    recent.push(now);
    this.#restarts.set(name, recent);
    const backoff = Math.min(FIRST_BACKOFF_MS * 2 ** (recent.length - 1), MAX_BACKOFF_MS);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#stopping) return;
      this.#start(
        name,
        (worker) => this.#options.restarted?.(worker, recent.length),
        (early) => this.#superviseLoss(name, early),
      );
    }, backoff);
    this.#timers.add(timer);
  }

  #clearTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
