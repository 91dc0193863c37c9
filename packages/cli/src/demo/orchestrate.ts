import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context, stopOnSignals } from '@andon/context/node';
import { cliEntry } from '../lib/cli-entry.js';
import { exitCode } from '../lib/lifecycle.js';
import { ERROR, READY, statusPrefix } from '../lib/output.js';
import { describeEnding, type Ending, TierProcess } from '../lib/tier-process.js';
import { TOKEN_ENV, tokenOf } from '../lib/token.js';

/** Options of `andon demo` (no subcommand). */
export interface DemoOptions {
  namespace: string;
  /** How long after the client starts the server's cancel line and the client's exit may take. */
  timeoutMs: number;
  /** How long the server and middle may take to start serving. */
  startupMs: number;
  /** How long a tier gets after SIGTERM before SIGKILL. */
  killAfterMs: number;
  /** Show the tiers' routine status lines (startup, shutdown) too; failures always show. */
  verbose: boolean;
  /** Test hook: the server never looks at its context, so the demo must fail. */
  ignoreStop?: boolean;
  /** Run the tiers over NATS at this URL instead of TCP and a discovery directory. */
  nats?: string;
}

const CANCELLED = /^Server: Cancelled at iteration \d+$/;
type Tier = 'server' | 'middle' | 'client';

/**
 * `andon demo`: starts the server, the middle and a client (through the middle) as child
 * processes sharing a fresh discovery directory, prints their output with a tier prefix, and
 * resolves 0 once the server has printed its cancel line and the client has exited 0.
 * Anything else — a timeout, a tier that crashes, a signal — resolves non-zero after saying
 * why on stderr. Every child is ended and the directory removed on every path.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'andon-demo-'));
  const run = new DemoRun(dir, options);
  try {
    const { code, reason } = await run.outcome;
    if (reason !== undefined) process.stderr.write(`andon demo: ${reason}\n`);
    return code;
  } finally {
    await run.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

interface Outcome {
  code: number;
  reason?: string;
}

class DemoRun {
  readonly outcome: Promise<Outcome>;
  readonly #tiers = new Map<Tier, TierProcess>();
  readonly #session = new Context();
  #settle!: (outcome: Outcome) => void;
  #settled = false;
  #timer: NodeJS.Timeout | undefined;
  #serverCancelled = false;
  #clientDone = false;
  #outputClosed = false;
  // Over NATS, demos sharing a server would find each other's tiers under one namespace.
  readonly #namespace: string;
  // The tiers prove this secret to each other: $ANDON_TOKEN's, else one for this run.
  readonly #token = tokenOf({}) ?? randomBytes(32).toString('base64url');

  constructor(
    readonly dir: string,
    readonly options: DemoOptions,
  ) {
    this.outcome = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.#namespace =
      options.nats === undefined
        ? options.namespace
        : `${options.namespace}-${randomBytes(3).toString('hex')}`;
    // Ctrl-C once: stop everything in order; twice: kill everything now.
    stopOnSignals(this.#session);
    this.#session.onStop((reason) =>
      this.#finish(exitCode(reason), `interrupted (${reason.message}); stopping the tiers`),
    );
    this.#session.onKill(() => {
      for (const tier of this.#tiers.values()) tier.kill();
    });
    // A reader that goes away (`andon demo | head`) must not crash us before the cleanup.
    process.stdout.on('error', this.#outputFailed);
    this.#start('server');
    this.#start('middle');
    this.#timer = setTimeout(
      () => this.#finish(1, `the middle tier did not start serving within ${options.startupMs} ms`),
      options.startupMs,
    );
  }

  /** Ends every tier (SIGTERM, then SIGKILL), waits for them, and lets go of the signals. */
  async cleanup(): Promise<void> {
    clearTimeout(this.#timer);
    // A first signal arriving now should still escalate to SIGKILL, not end us early.
    if (!this.#session.isStopped()) this.#session.stop('cleaning up');
    await Promise.all([...this.#tiers.values()].map((t) => t.stop(this.options.killAfterMs)));
    this.#session.dispose();
    process.stdout.off('error', this.#outputFailed);
  }

  readonly #outputFailed = (error: Error) => {
    this.#outputClosed = true;
    this.#finish(1, `cannot write the output: ${error.message}`);
  };

  #print(line: string): void {
    if (!this.#outputClosed) process.stdout.write(`${line}\n`);
  }

  #start(tier: Tier): void {
    if (this.#settled) return;
    const connect =
      this.options.nats === undefined
        ? ['--discovery-dir', this.dir]
        : ['--nats', this.options.nats];
    const args = ['demo', tier, ...connect, '--namespace', this.#namespace];
    args.push('--exit-with-parent');
    if (tier === 'client') args.push('--middle');
    if (tier === 'server' && this.options.ignoreStop) args.push('--ignore-stop');
    const prefix = `[${tier}] `;
    const status = statusPrefix(tier);
    const child = new TierProcess(
      tier,
      cliEntry(),
      args,
      {
        stdout: (line) => {
          this.#print(`${prefix}${line}`);
          if (tier === 'server' && CANCELLED.test(line)) {
            this.#serverCancelled = true;
            this.#check();
          }
        },
        stderr: (line) => {
          const routine = line.startsWith(status) && !line.startsWith(`${status}${ERROR}`);
          if (!routine || this.options.verbose) process.stderr.write(`${prefix}${line}\n`);
          if (tier === 'middle' && line.startsWith(`${status}${READY}`)) this.#startClient();
        },
        closed: (ending) => this.#closed(tier, ending),
      },
      { [TOKEN_ENV]: this.#token },
    );
    this.#tiers.set(tier, child);
  }

  #startClient(): void {
    if (this.#tiers.has('client')) return;
    clearTimeout(this.#timer);
    this.#start('client');
    this.#timer = setTimeout(() => this.#finish(1, this.#timeoutReason()), this.options.timeoutMs);
  }

  #closed(tier: Tier, ending: Ending): void {
    if (tier === 'client' && ending.code === 0) {
      this.#clientDone = true;
      this.#check();
    } else {
      this.#finish(1, `the ${tier} ${describeEnding(ending)} before the demo finished`);
    }
  }

  #check(): void {
    if (this.#serverCancelled && this.#clientDone) this.#finish(0);
  }

  #timeoutReason(): string {
    const missing = [
      ...(this.#serverCancelled
        ? []
        : ["the server did not print 'Server: Cancelled at iteration'"]),
      ...(this.#clientDone ? [] : ['the client did not finish']),
    ];
    return `${missing.join(' and ')} within ${this.options.timeoutMs} ms of the client starting`;
  }

  #finish(code: number, reason?: string): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#settle(reason === undefined ? { code } : { code, reason });
  }
}
