import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Spawns a fixture; `next()` returns its next JSON line, `exited` its exit. */
function run(name: string, ...args: string[]) {
  const child = spawn(process.execPath, [fixture(name), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const next = (): Promise<Record<string, unknown>> =>
    new Promise<string>((resolve) => {
      const line = lines.shift();
      if (line !== undefined) resolve(line);
      else waiting.push(resolve);
    }).then((line) => JSON.parse(line) as Record<string, unknown>);
  return { child, next, exited };
}

function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  child?: ChildProcess,
): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => {
        child?.kill('SIGKILL');
        reject(new Error(`${what} took more than ${ms} ms`));
      }, ms),
    ),
  ]);
}

describe('OS signals (@andon/context/node), with real signals to a child process', () => {
  it('the first signal stops, the second kills and gives the signals back to Node', async () => {
    const { child, next, exited } = run('signals.mjs');
    expect(await within(next(), 10_000, 'start', child)).toEqual({ event: 'ready', listeners: 2 });
    child.kill('SIGINT');
    const stopped = await within(next(), 10_000, 'stop', child);
    expect(stopped).toMatchObject({
      event: 'stopped',
      reason: { kind: 'signal', origin: 'SIGINT', message: 'received SIGINT' },
    });
    child.kill('SIGTERM');
    expect(await within(next(), 10_000, 'kill', child)).toEqual({ event: 'killed', listeners: 0 });
    // No handler left: the third signal has Node's default effect.
    child.kill('SIGINT');
    expect(await within(exited, 10_000, 'exit', child)).toEqual({ code: null, signal: 'SIGINT' });
  });

  it('dispose removes the handlers', async () => {
    const { child, next, exited } = run('signals.mjs', 'dispose');
    expect(await within(next(), 10_000, 'start', child)).toMatchObject({ listeners: 2 });
    expect(await within(next(), 10_000, 'dispose', child)).toEqual({
      event: 'disposed',
      listeners: 0,
    });
    expect(await within(exited, 10_000, 'exit', child)).toEqual({ code: 0, signal: null });
  });
});

describe('nothing keeps a process alive', () => {
  it.each(['deadline', 'shared-disposed', 'shared-live'])('%s', async (mode) => {
    const { child, exited } = run('idle.mjs', mode);
    expect(await within(exited, 10_000, 'exit', child)).toEqual({ code: 0, signal: null });
  });
});
