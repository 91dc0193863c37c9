// A child process of this CLI running one tier, with its output as lines: the demo's tiers
// and serve's workers are started with it.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** How a tier process ended: its exit code, or the signal that ended it. */
export interface Ending {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** What a {@link TierProcess} reports to its owner. */
export interface TierEvents {
  stdout(line: string): void;
  stderr(line: string): void;
  closed(ending: Ending): void;
}

/**
 * One demo tier run as a child process (this CLI's own entry under `process.execPath`),
 * reporting its output line by line. It runs in a process group of its own, so a Ctrl-C
 * in the terminal reaches only the orchestrator, which then stops every tier in order; its
 * stdin is a pipe that closes if the orchestrator dies, which stops the tier too.
 */
export class TierProcess {
  readonly #child: ChildProcess;
  #ending: Ending | undefined;
  readonly #closed: Promise<Ending>;

  /**
   * `env` adds to this process's environment (the shared secret goes there, where other
   * users cannot read it, unlike the command line).
   */
  constructor(
    readonly name: string,
    entry: string,
    args: readonly string[],
    events: TierEvents,
    env: Readonly<Record<string, string>> = {},
  ) {
    this.#child = spawn(process.execPath, [entry, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, ...env },
    });
    createInterface({ input: this.#child.stdout! }).on('line', (line) => events.stdout(line));
    createInterface({ input: this.#child.stderr! }).on('line', (line) => events.stderr(line));
    // Without a listener, a tier that is gone makes our write to its stdin an uncaught error.
    this.#child.stdin!.on('error', () => {});
    this.#closed = new Promise((resolve) => {
      const close = (ending: Ending) => {
        if (this.#ending !== undefined) return;
        this.#ending = ending;
        events.closed(ending);
        resolve(ending);
      };
      // 'close' comes after the output is drained, so no line is reported after it.
      this.#child.on('close', (code, signal) => close({ code, signal }));
      this.#child.on('error', (error) => {
        events.stderr(`cannot start: ${error.message}`);
        close({ code: null, signal: null });
      });
    });
  }

  /** The process id, for tests and messages. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** True once the process has ended and its output is drained. */
  get ended(): boolean {
    return this.#ending !== undefined;
  }

  /**
   * Ends the process: SIGTERM (a graceful shutdown), then SIGKILL if it is still there after
   * `killAfterMs`. Resolves once it is gone, or after a further `killAfterMs` if even SIGKILL
   * is not seen (then the process is not ours to wait for any longer).
   */
  async stop(killAfterMs: number): Promise<void> {
    if (this.ended) return;
    this.signal('SIGTERM');
    if (await this.#endsWithin(killAfterMs)) return;
    this.kill();
    await this.#endsWithin(killAfterMs);
  }

  /** SIGKILL now. */
  kill(): void {
    this.signal('SIGKILL');
  }

  /** Sends `signal` if the process still runs. */
  signal(signal: NodeJS.Signals): void {
    if (this.ended || this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone between the check and the kill.
    }
  }

  #endsWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    return Promise.race([this.#closed.then(() => true), timeout]).finally(() =>
      clearTimeout(timer),
    );
  }
}

/** "exited with code 3" / "was killed by SIGKILL", for messages. */
export function describeEnding(ending: Ending): string {
  if (ending.signal !== null) return `was killed by ${ending.signal}`;
  if (ending.code === null) return 'could not be started';
  return `exited with code ${ending.code}`;
}
