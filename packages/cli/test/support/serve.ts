import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach } from 'vitest';
import { assertBuilt, type Cli, killAll, runningTranscripts } from './cli.js';

// Generous bounds: two shared cores, several engineers' suites at once.
export const START_MS = 20_000;
export const EXIT_MS = 15_000;

/** Fast engine settings, so that a stream's chunks come quickly. */
export const FAST = ['--ms-per-token', '5', '--prefill-ms', '1', '--prefill-ms-per-token', '0'];

/**
 * A fresh directory per test (discovery, and TMPDIR for `andon serve`'s own), and afterwards
 * every process the test started, or that mentions the directory, killed and the directory
 * removed. Returns a getter for the directory.
 */
export function perTestDir(): () => string {
  let dir = '';
  beforeAll(assertBuilt);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'andon-cli-serve-test-'));
  });
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail') console.error(runningTranscripts());
    await killAll(dir);
    await rm(dir, { recursive: true, force: true });
  });
  return () => dir;
}

/** The URL a front end prints on stdout once it listens. */
export async function urlOf(cli: Cli): Promise<string> {
  const line = await cli.line(/^http:\/\/127\.0\.0\.1:\d+$/, START_MS);
  return line;
}

/** The line a worker prints once it serves; group 1 is its metrics URL. */
export const WORKER_READY = /worker ready: serving \S+ as instance \S+ \(metrics (\S+)\)$/;

/**
 * The metrics URLs in the worker ready lines `cli` printed so far (a worker's own, or
 * relayed by `andon serve`, which prints its URL only after every worker is ready).
 */
export function workerMetrics(cli: Cli): string[] {
  return [...cli.stdout, ...cli.stderr].flatMap((line) => {
    const match = WORKER_READY.exec(line);
    return match ? [match[1]!] : [];
  });
}
