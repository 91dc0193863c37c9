import { describe, expect, it } from 'vitest';
import { Cli, processesMentioning } from './support/cli.js';
import { expectCancelledOnWorker } from './support/metrics.js';
import { sdk, streamAndAbort, streamToEnd } from './support/openai.js';
import { EXIT_MS, FAST, perTestDir, START_MS, urlOf, workerMetrics } from './support/serve.js';

const dir = perTestDir();

/** `andon worker` with its metrics on a free port; resolves with that port's URL. */
async function startWorker(): Promise<{ worker: Cli; metrics: string }> {
  const worker = new Cli(['worker', '--discovery-dir', dir(), '--metrics-port', '0', ...FAST]);
  await worker.line(/^worker ready: serving andon\/engine\/generate as instance \S+/, START_MS);
  const [metrics] = workerMetrics(worker);
  expect(metrics, worker.transcript).toBeDefined();
  return { worker, metrics: metrics! };
}

async function stopAll(...clis: Cli[]): Promise<void> {
  for (const cli of clis) cli.child.kill('SIGTERM');
  for (const cli of clis) {
    expect(await cli.exit(EXIT_MS), cli.transcript).toEqual({ code: 0, signal: null });
  }
  expect(processesMentioning(dir())).toEqual([]);
}

describe('andon frontend + andon worker (separate processes)', () => {
  it('streams through the worker; an aborted stream is cancelled on the worker', async () => {
    // The front end first: it waits for a worker to appear.
    const frontend = new Cli(['frontend', '--discovery-dir', dir()]);
    await frontend.line(/waiting for 1 worker instance\(s\) of andon\/engine\/generate/, START_MS);
    const { worker, metrics } = await startWorker();
    const url = await urlOf(frontend);

    const { finish } = await streamToEnd(sdk(url));
    expect(finish).toBe('length');
    expect(await streamAndAbort(sdk(url))).toBe(5);
    await expectCancelledOnWorker([metrics], url);

    await stopAll(frontend, worker);
  });
});

describe('andon frontend --via-router → andon router → andon worker', () => {
  it('an aborted stream reaches the worker through the router, as a disconnect', async () => {
    const { worker, metrics } = await startWorker();
    const router = new Cli(['router', '--discovery-dir', dir()]);
    await router.line(/^router ready: serving andon\/router\/generate as instance \S+$/, START_MS);
    const frontend = new Cli(['frontend', '--via-router', '--discovery-dir', dir()]);
    const url = await urlOf(frontend);
    expect(frontend.stderr.join('\n')).toContain('andon/router/generate');

    const { finish } = await streamToEnd(sdk(url));
    expect(finish).toBe('length');
    expect(await streamAndAbort(sdk(url))).toBe(5);
    // Counted on the worker with the front end's reason: the router passed it on unchanged.
    await expectCancelledOnWorker([metrics], url);

    await stopAll(frontend, router, worker);
  });
});
