import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@andon/context';
import { Runtime } from '@andon/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';

let dir: string;
const runtimes: Runtime[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'andon-fairness-'));
});
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown({ graceMs: 0, stopGraceMs: 0 })));
  rmSync(dir, { recursive: true, force: true });
});

async function start(window: number): Promise<Runtime> {
  const rt = await Runtime.start({ transport: 'tcp', discoveryDir: dir, window });
  runtimes.push(rt);
  return rt;
}

describe('fairness', () => {
  it('handlers whose items are ready at once leave the event loop free for timers and I/O', async () => {
    const STREAMS = 8;
    const WINDOW = 5000;
    const ITEM_COST_MS = 0.025;
    // Each stream may run a whole window ahead of its reader, and nobody reads. Without
    // slicing, the server made all 40 000 items (25 µs of work each, a CPU-bound handler)
    // in one turn of the event loop, and no timer fired for about a second.
    const server = await start(WINDOW);
    const caller = await start(WINDOW);
    let produced = 0;
    await server
      .namespace('fair')
      .component('server')
      .endpoint('flood')
      .serve(async function* (_request: unknown, ctx) {
        while (!ctx.isStopped()) {
          const end = performance.now() + ITEM_COST_MS;
          while (performance.now() < end);
          produced++;
          yield produced;
        }
      });
    const client = await caller.namespace('fair').component('server').endpoint('flood').client();
    await client.waitForInstances();

    let last = performance.now();
    let longestGap = 0;
    const probe = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 2);
    const ctx = new Context();
    try {
      const streams = await Promise.all(
        Array.from({ length: STREAMS }, () => client.generate({}, { context: ctx })),
      );
      // A stream is requested when first read; read one item of each, then no more.
      await Promise.all(streams.map((stream) => stream[Symbol.asyncIterator]().next()));
      await waitFor(() => produced >= STREAMS * WINDOW, 'every window to be produced', 10_000);
    } finally {
      clearInterval(probe);
      ctx.stop();
    }
    expect(longestGap).toBeLessThan(300);
  });

  it('a stop sent during a flood reaches every handler, and every stream is released', async () => {
    const STREAMS = 8;
    const WINDOW = 5000;
    const server = await start(WINDOW);
    const caller = await start(WINDOW);
    let produced = 0;
    let ended = 0;
    await server
      .namespace('fair')
      .component('server')
      .endpoint('flood')
      .serve(async function* (_request: unknown, ctx) {
        try {
          while (!ctx.isStopped()) {
            const end = performance.now() + 0.025;
            while (performance.now() < end);
            produced++;
            yield produced;
          }
        } finally {
          ended++;
        }
      });
    const client = await caller.namespace('fair').component('server').endpoint('flood').client();
    await client.waitForInstances();
    const ctx = new Context();
    const streams = await Promise.all(
      Array.from({ length: STREAMS }, () => client.generate({}, { context: ctx })),
    );
    await Promise.all(streams.map((stream) => stream[Symbol.asyncIterator]().next()));
    await waitFor(() => produced >= WINDOW, 'the flood to be under way', 10_000);
    expect(produced).toBeLessThan(STREAMS * WINDOW);
    const t0 = performance.now();
    ctx.stop();
    await waitFor(() => ended === STREAMS, 'every handler to end', 5000);
    expect(performance.now() - t0).toBeLessThan(1000);
    // Counted when a stream is released, after its handler has let go.
    await waitFor(
      () => server.stats().handlerCancellations.stop === STREAMS,
      'every stream to be released',
      1000,
    );
  });
});
