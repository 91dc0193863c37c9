import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { Cli, processesMentioning } from './support/cli.js';
import { expectCancelledOnWorker } from './support/metrics.js';
import { rawStream, sdk, streamAndAbort, streamToEnd } from './support/openai.js';
import { EXIT_MS, FAST, perTestDir, START_MS, urlOf, workerMetrics } from './support/serve.js';

const dir = perTestDir();

/** A short stream through the SDK ends normally, and the raw SSE body ends with [DONE]. */
async function expectNormalStream(url: string): Promise<void> {
  const client = sdk(url);
  const models = await client.models.list();
  expect(models.data.map((m) => m.id)).toEqual(['andon-sim']);
  const { text, finish, chunks } = await streamToEnd(client, 12);
  expect(finish).toBe('length');
  expect(chunks).toBeGreaterThan(1);
  expect(text.length).toBeGreaterThan(0);
  const raw = await rawStream(url);
  expect(raw.trimEnd().endsWith('data: [DONE]')).toBe(true);
}

describe('andon serve (embedded)', () => {
  it('prints a URL the openai SDK can use; an aborted stream stops the engine; SIGINT exits 0', async () => {
    const serve = new Cli(['serve', ...FAST], { TMPDIR: dir() });
    const url = await urlOf(serve);
    expect(serve.stdout).toEqual([url]);
    await expectNormalStream(url);

    expect(await streamAndAbort(sdk(url))).toBe(5);
    // In one process the front end's /metrics carries the engine's series too.
    await expectCancelledOnWorker([`${url}/metrics`], url);

    serve.child.kill('SIGINT');
    expect(await serve.exit(EXIT_MS), serve.transcript).toEqual({ code: 0, signal: null });
    expect(serve.stderr).toContain('andon serve: shut down');
  });
});

describe('andon serve --workers 2', () => {
  it('serves through worker processes; an SDK abort is cancelled on a worker; Ctrl-C leaves nothing behind', async () => {
    const serve = new Cli(['serve', '--workers', '2', ...FAST], { TMPDIR: dir() });
    const url = await urlOf(serve);
    const workers = workerMetrics(serve);
    expect(workers, serve.transcript).toHaveLength(2);
    expect(processesMentioning(dir(), 'worker'), 'two worker processes').toHaveLength(2);
    await expectNormalStream(url);

    expect(await streamAndAbort(sdk(url))).toBe(5);
    await expectCancelledOnWorker(workers, url);

    serve.child.kill('SIGINT');
    expect(await serve.exit(EXIT_MS), serve.transcript).toEqual({ code: 0, signal: null });
    expect(processesMentioning(dir())).toEqual([]);
    // Its temporary discovery directory was made under TMPDIR, and is gone.
    expect(await readdir(dir())).toEqual([]);
  });

  it('a second signal exits at once (130) and still takes a hung worker and the directory with it', async () => {
    const serve = new Cli(['serve', '--workers', '1', '--kill-after', '10000', ...FAST], {
      TMPDIR: dir(),
    });
    await urlOf(serve);
    // A hung worker: the first signal's graceful stop would wait --kill-after for it.
    const [hung] = processesMentioning(dir(), 'worker');
    process.kill(hung!, 'SIGSTOP');
    serve.child.kill('SIGINT');
    await serve.line(/^andon serve: received SIGINT; shutting down/, EXIT_MS);
    serve.child.kill('SIGINT');
    expect(await serve.exit(EXIT_MS), serve.transcript).toEqual({ code: 130, signal: null });
    // The worker got SIGKILL on the way out; the kernel reaps it soon after.
    await waitFor(() => processesMentioning(dir()).length === 0, 'the killed worker to be reaped', {
      everyMs: 50,
    });
    expect(await readdir(dir())).toEqual([]);
  });

  it('a worker that dies is restarted while the other serves, and no request is lost to it', async () => {
    const serve = new Cli(['serve', '--workers', '2', ...FAST], { TMPDIR: dir() });
    const url = await urlOf(serve);
    const [victim] = processesMentioning(dir(), 'worker');
    process.kill(victim!, 'SIGKILL');
    await serve.line(
      /andon serve: error: worker \d was killed by SIGKILL; restarting it/,
      START_MS,
    );
    // Meanwhile, and while discovery still lists the dead one, every request is answered.
    for (let i = 0; i < 10; i++) {
      const { finish } = await streamToEnd(sdk(url), 4);
      expect(finish).toBe('length');
    }
    await serve.line(/andon serve: worker \d is back after restart 1 \(metrics http/, START_MS);
    expect(processesMentioning(dir(), 'worker')).toHaveLength(2);
    serve.child.kill('SIGINT');
    expect(await serve.exit(EXIT_MS), serve.transcript).toEqual({ code: 0, signal: null });
    expect(processesMentioning(dir())).toEqual([]);
    expect(await readdir(dir())).toEqual([]);
  });

  it('a worker past --max-restarts is given up and reported; serve goes on and says no worker is left', async () => {
    const serve = new Cli(['serve', '--workers', '1', '--max-restarts', '0', ...FAST], {
      TMPDIR: dir(),
    });
    const url = await urlOf(serve);
    const [victim] = processesMentioning(dir(), 'worker');
    process.kill(victim!, 'SIGKILL');
    await serve.line(/given up\. No worker is left/, START_MS);
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'andon-sim', messages: [{ role: 'user', content: 'hi' }] }),
    });
    // 502 while its lease says it is there but it refuses, 503 once discovery drops it.
    expect([502, 503]).toContain(response.status);
    serve.child.kill('SIGINT');
    expect(await serve.exit(EXIT_MS), serve.transcript).toEqual({ code: 0, signal: null });
    expect(processesMentioning(dir())).toEqual([]);
  });
});
