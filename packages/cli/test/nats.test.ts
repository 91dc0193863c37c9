import { afterEach, describe, expect, it } from 'vitest';
import { natsServerBinary, startNatsServer } from '../../../test/support/nats-server.js';
import { Cli, processesMentioning } from './support/cli.js';
import { expectCancelledOnWorker } from './support/metrics.js';
import { sdk, streamAndAbort, streamToEnd } from './support/openai.js';
import { EXIT_MS, FAST, perTestDir, urlOf, workerMetrics } from './support/serve.js';

/** The nats-server binary; the NATS tests skip without it (fail with ANDON_REQUIRE_NATS=1). */
const natsBin = natsServerBinary();

const dir = perTestDir();
let stopNats: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopNats?.();
  stopNats = undefined;
});

describe.skipIf(!natsBin)('andon serve --workers 2 --nats', () => {
  it('serves through workers over NATS; an SDK abort is cancelled on a worker', async () => {
    const nats = await startNatsServer();
    stopNats = nats.stop;
    // A nats-server without JetStream: the request plane needs none; tasks stay in memory.
    const serve = new Cli(
      ['serve', '--workers', '2', '--nats', nats.url, '--store', 'memory', ...FAST],
      { TMPDIR: dir() },
    );
    const url = await urlOf(serve);
    const workers = workerMetrics(serve);
    expect(workers, serve.transcript).toHaveLength(2);

    expect((await streamToEnd(sdk(url))).finish).toBe('length');
    expect(await streamAndAbort(sdk(url))).toBe(5);
    await expectCancelledOnWorker(workers, url);

    serve.child.kill('SIGINT');
    expect(await serve.exit(EXIT_MS), serve.transcript).toEqual({ code: 0, signal: null });
    expect(processesMentioning(nats.url)).toEqual([]);
  });
});
