import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI; the tests run it as users do (`npx tsc -b` first). */
export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npx tsc -b\` first`);
}

export interface Ending {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const running = new Set<Cli>();

// Under the suite's own data directory (vitest.global-setup.ts), which is removed at the end.
function privateDataDir(): string {
  return join(process.env.ANDON_DATA_DIR ?? tmpdir(), `cli-${randomUUID()}`);
}

/** One run of the CLI, with its output collected line by line. */
export class Cli {
  readonly child: ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly ended: Promise<Ending>;
  #ending: Ending | undefined;
  #waiters = new Set<() => void>();

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      // A data directory of its own unless the test shares one on purpose: two `andon serve`
      // on one task store refuse to run side by side.
      env: { ...process.env, ANDON_DATA_DIR: privateDataDir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this);
    collect(this.child.stdout!, this.stdout, () => this.#wake());
    collect(this.child.stderr!, this.stderr, () => this.#wake());
    this.ended = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.#ending = { code, signal };
        running.delete(this);
        this.#wake();
        resolve(this.#ending);
      });
    });
  }

  /** Everything written so far, both streams, for failure messages. */
  get transcript(): string {
    return `--- stdout\n${this.stdout.join('\n')}\n--- stderr\n${this.stderr.join('\n')}`;
  }

  /** Resolves with the first line (stdout or stderr) matching `pattern`; rejects after `ms`. */
  line(pattern: RegExp, ms: number): Promise<string> {
    return this.#until(
      () => [...this.stdout, ...this.stderr].find((l) => pattern.test(l)),
      ms,
      `a line matching ${pattern}`,
    );
  }

  /** Resolves with how the process ended; rejects if it still runs after `ms`. */
  exit(ms: number): Promise<Ending> {
    return this.#until(() => this.#ending, ms, 'the process to exit');
  }

  /** True while the process runs (its end not yet seen). */
  get running(): boolean {
    return this.#ending === undefined;
  }

  #until<T>(probe: () => T | undefined, ms: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`waited ${ms} ms for ${what}\n${this.transcript}`));
      }, ms);
      this.#waiters.add(check);
      check();
    });
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check();
  }
}

function collect(stream: NodeJS.ReadableStream, into: string[], changed: () => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    into.push(...parts);
    changed();
  });
  stream.on('end', () => {
    if (rest !== '') into.push(rest);
    changed();
  });
}

/** Pids of the processes whose command line mentions `text` (Linux /proc). */
export function processesMentioning(text: string, ...args: string[]): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.includes(text)) && args.every((a) => argv.includes(a)))
        pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/**
 * What every CLI process still running has said, for a failed test: a test that times out
 * waiting shows nothing else of where the processes were.
 */
export function runningTranscripts(): string {
  return [...running]
    .map((cli) => `=== andon ${cli.child.spawnargs.slice(2).join(' ')}\n${cli.transcript}`)
    .join('\n');
}

/**
 * Ends every CLI process a test started, and any tier started under `marker` (a directory
 * its command line mentions), so a failed test leaks nothing.
 */
export async function killAll(marker?: string): Promise<void> {
  for (const cli of running) cli.child.kill('SIGKILL');
  await Promise.all([...running].map((cli) => cli.exit(5000).catch(() => undefined)));
  if (marker === undefined) return;
  for (const pid of processesMentioning(marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}
