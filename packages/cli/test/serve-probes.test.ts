import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { Cli, processesMentioning } from './support/cli.js';
import { sdk, streamToEnd } from './support/openai.js';
import { EXIT_MS, FAST, perTestDir, START_MS, urlOf, workerMetrics } from './support/serve.js';

// `andon serve --workers`: what a load balancer and a Prometheus scrape see on the front end.

const dir = perTestDir();

const status = async (url: string) => (await fetch(url)).status;

describe('andon serve --workers 1', () => {
  it('/health turns 503 once its only worker is gone for good; /live stays 200', async () => {
    const serve = new Cli(['serve', '--workers', '1', '--max-restarts', '0', ...FAST], {
      TMPDIR: dir(),
    });
    const url = await urlOf(serve);
    expect(await status(`${url}/health`)).toBe(200);
    const [pid] = processesMentioning(dir(), 'worker');
    expect(pid, serve.transcript).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await serve.line(/No worker is left/, START_MS);
    await waitFor(async () => (await status(`${url}/health`)) === 503, '/health to be 503', {
      timeoutMs: 20_000,
      everyMs: 50,
    });
    const health = (await (await fetch(`${url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'no_instances', instances: 0 });
    expect(await status(`${url}/live`)).toBe(200);
    serve.child.kill('SIGINT');
    expect(await serve.exit(EXIT_MS)).toEqual({ code: 0, signal: null });
  });

  it("the front end's /metrics leaves the engine series to the workers' own", async () => {
    const serve = new Cli(['serve', '--workers', '1', ...FAST], { TMPDIR: dir() });
    const url = await urlOf(serve);
    await streamToEnd(sdk(url), 5);
    const front = await (await fetch(`${url}/metrics`)).text();
    expect(front).toMatch(/andon_http_requests_total\{endpoint="\/v1\/chat\/completions"/);
    expect(front).not.toMatch(/andon_engine_|tier="engine"/);
    const [workerUrl] = workerMetrics(serve);
    const worker = await (await fetch(workerUrl!)).text();
    expect(worker).toMatch(/^andon_engine_slots 4$/m);
    expect(worker).toMatch(/^andon_engine_tokens_generated_total [1-9]/m);
    serve.child.kill('SIGINT');
    expect(await serve.exit(EXIT_MS)).toEqual({ code: 0, signal: null });
  });
});
