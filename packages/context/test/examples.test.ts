import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The examples are programs people copy: run them as plain node would, against the built
// package, and check what they print.
const example = (name: string) =>
  fileURLToPath(new URL(`../../../examples/context/${name}`, import.meta.url));

interface Run {
  output: () => string;
  waitFor: (text: string) => Promise<void>;
  signal: (name: NodeJS.Signals) => void;
  exited: Promise<number | null>;
}

function start(name: string): Run {
  const child = spawn(process.execPath, [example(name)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiters.splice(0)) {
      if (out.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return {
    output: () => out,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        if (out.includes(text)) resolve();
        else waiters.push({ text, resolve });
        exited.then(() =>
          out.includes(text) ? resolve() : reject(new Error(`no "${text}" in:\n${out}`)),
        );
      }),
    signal: (name) => child.kill(name),
    exited,
  };
}

async function runToEnd(name: string): Promise<string> {
  const run = start(name);
  expect(await run.exited).toBe(0);
  return run.output();
}

describe('examples/context', () => {
  it('stream-cancel: another task stops the stream after three tokens', async () => {
    const out = await runToEnd('stream-cancel.mjs');
    expect(out).toContain('reader: got token-2');
    expect(out).not.toContain('token-3');
    expect(out).toContain('model: stream closed, resources released');
    expect(out).toContain('reader: stopped after 3 tokens (stop: user pressed stop)');
    expect(out).toContain('"status":"stopped"');
  });

  it('worker-cancel: the main thread stops a CPU-bound worker', async () => {
    const out = await runToEnd('worker-cancel.mjs');
    expect(out).toContain('"stoppedAfterRounds":true');
    expect(out).toContain('"reason":"the user no longer needs the result"');
    expect(out).toContain('main: worker exited with code 0');
  });

  it('thread-stop: a worker thread wakes the main thread out of an hour-long await', async () => {
    const out = await runToEnd('thread-stop.mjs');
    expect(out).toMatch(/main: woken by "stopped from a worker thread" [\d.]+ ms after the stop/);
  });

  it('task-group: a cancel from another task and a timeout both end the group cleaned up', async () => {
    const out = await runToEnd('task-group.mjs');
    expect(out.match(/cleaned up \(parent\)/g)).toHaveLength(6);
    expect(out).toContain('group ended: 0 running');
    expect(out).toContain('group ended: deadline, 0 running');
  });

  it('timeout: the deadline cuts the slow call off', async () => {
    const out = await runToEnd('timeout.mjs');
    expect(out).toContain('sub-call budget: capped at the request deadline');
    expect(out).toContain('request: deadline (deadline exceeded)');
    expect(out).toContain('sub-call: parent, cause deadline');
  });

  it('ctrl-c: one Ctrl-C finishes gracefully', async () => {
    const run = start('ctrl-c.mjs');
    await run.waitFor('item 1 done');
    run.signal('SIGINT');
    expect(await run.exited).toBe(0);
    const out = run.output();
    expect(out).toContain('received SIGINT: finishing the current item');
    expect(out).toMatch(/checkpoint written after \d+ items/);
    expect(out).toContain('job: exit, stopped');
  });

  it('ctrl-c: a second Ctrl-C kills it', async () => {
    const run = start('ctrl-c.mjs');
    await run.waitFor('item 1 done');
    run.signal('SIGINT');
    await run.waitFor('writing checkpoint');
    run.signal('SIGINT');
    expect(await run.exited).toBe(0);
    const out = run.output();
    expect(out).toContain('job: killed by a second Ctrl-C, checkpoint abandoned');
    expect(out).not.toContain('checkpoint written');
    expect(out).toContain('job: exit, killed');
  });
});
