import { cliEntry } from '../demo/orchestrate.js';
import { describeEnding, type Ending, TierProcess } from '../demo/tier-process.js';
import { READY_LINE } from './endpoints.js';

/** What {@link WorkerPool} starts. */
export interface PoolOptions {
  count: number;
  /** Arguments of each `andon worker` (after `worker`). */
  args: readonly string[];
  /** Fail {@link WorkerPool.ready} unless every worker is ready within this long. */
  startupMs: number;
  /** Called when a worker ends after it was ready (the pool is not stopping). */
  lost(name: string, ending: Ending): void;
}

/** A ready worker: its name in our output, and its metrics URL if it serves one. */
export interface ReadyWorker {
  name: string;
  instanceId: string;
  metricsUrl?: string;
}

/**
 * `andon worker` child processes, started with this CLI's own entry. Their output is relayed
 * on our stderr with a `[worker N] ` prefix. Each runs in its own process group (a Ctrl-C in
 * the terminal reaches only us, and we stop them in order) with a stdin pipe, so they also
 * stop if we die without cleaning up.
 */
export class WorkerPool {
  /** Resolves once every worker printed its ready line; rejects if one ends first or on timeout. */
  readonly ready: Promise<ReadyWorker[]>;
  readonly #workers: TierProcess[] = [];
  #stopping = false;

  constructor(options: PoolOptions) {
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
      const relay = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
      const worker = new TierProcess(name, cliEntry(), ['worker', ...options.args], {
        stdout: (line) => {
          relay(line);
          const match = READY_LINE.exec(line);
          if (match === null || ready.has(name)) return;
          const [, instanceId, metricsUrl] = match;
          ready.set(name, { name, instanceId: instanceId!, ...(metricsUrl ? { metricsUrl } : {}) });
          if (ready.size === options.count) succeed([...ready.values()]);
        },
        stderr: relay,
        closed: (ending) => {
          if (this.#stopping) return;
          if (!ready.has(name)) {
            fail(new Error(`${name} ${describeEnding(ending)} before it was ready`));
          } else {
            options.lost(name, ending);
          }
        },
      });
      this.#workers.push(worker);
    }
  }

  /** Ends every worker: SIGTERM (graceful), then SIGKILL after `killAfterMs`. */
  async stop(killAfterMs: number): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#workers.map((worker) => worker.stop(killAfterMs)));
  }

  /** SIGKILL every worker now: for a process that is exiting and cannot wait. */
  killNow(): void {
    this.#stopping = true;
    for (const worker of this.#workers) worker.kill();
  }
}
