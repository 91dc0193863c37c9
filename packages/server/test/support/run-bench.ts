import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What a bench script printed, and how it ended. */
export interface BenchRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `bench/<name>/run.mjs` with `env` added, as `npm run bench:<name>` would after the
 * build; SIGTERM after `timeoutMs`. For the smoke tests that keep the benchmarks working.
 */
export function runBench(
  name: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
  args: readonly string[] = [],
) {
  const script = fileURLToPath(new URL(`../../../../bench/${name}/run.mjs`, import.meta.url));
  return new Promise<BenchRun>((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
