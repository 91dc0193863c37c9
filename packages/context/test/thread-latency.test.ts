import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, isCancelledError, shareContext, sleep, TaskGroup } from '../src/index.js';

// Cancellation that crosses threads and tasks, measured: not just "it stops eventually".
// Each figure is the median over runs of the run's p50 or p99, and the raw figures are
// printed. The typical case (p50) must be under 5 ms; the tail (p99) only under 50 ms,
// because on a loaded 2-core machine the OS may not run a thread for several ms, whatever
// the code does. The 5 ms p99 target on a quiet machine is bench:chat's to measure
// (p99 0.8 ms there); either bound still fails the 3 s a missed wake-up costs.

const TRIALS = 200;
const RUNS = 3;

let worker: Worker;
beforeAll(() => {
  worker = new Worker(new URL('./fixtures/latency-worker.mjs', import.meta.url));
});
afterAll(async () => {
  await worker.terminate();
});

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `trial` TRIALS times per run, RUNS runs; returns each run's p50 and p99 in ms. */
async function measure(trial: () => Promise<number>): Promise<{ p50: number; p99: number }[]> {
  const runs: { p50: number; p99: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    const samples: number[] = [];
    for (let i = 0; i < TRIALS; i++) samples.push(await trial());
    samples.sort((a, b) => a - b);
    runs.push({ p50: percentile(samples, 50), p99: percentile(samples, 99) });
  }
  return runs;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (ns: bigint) => Number(ns) / 1e6;

describe('cancellation latency across threads and tasks', () => {
  it('a stop from a worker thread wakes main-thread code blocked in a long await at once', async () => {
    const runs = await measure(async () => {
      const ctx = new Context();
      const shared = shareContext(ctx);
      const stamps = new SharedArrayBuffer(16);
      worker.postMessage({
        kind: 'stop-main',
        buffer: shared.buffer,
        stamps,
        delayMs: 1 + Math.floor(Math.random() * 3),
      });
      try {
        await sleep(3_600_000, ctx);
        throw new Error('the hour-long sleep ended by itself');
      } catch (error) {
        if (!isCancelledError(error)) throw error;
        const woke = process.hrtime.bigint();
        return ms(woke - Atomics.load(new BigInt64Array(stamps), 0));
      } finally {
        shared.dispose();
        ctx.dispose();
      }
    });
    console.log('worker → main wake-up (ms)', JSON.stringify(runs));
    expect(median(runs.map((r) => r.p50))).toBeLessThan(5);
    expect(median(runs.map((r) => r.p99))).toBeLessThan(50);
  });

  it('a stop from main reaches a CPU-bound worker loop at its next check', async () => {
    const runs = await measure(async () => {
      const ctx = new Context();
      const shared = shareContext(ctx);
      const stamps = new SharedArrayBuffer(16);
      const crunching = new Promise((resolve) => worker.once('message', resolve));
      worker.postMessage({ kind: 'crunch', buffer: shared.buffer, stamps });
      await crunching;
      const seen = new Promise((resolve) => worker.once('message', resolve));
      const at = process.hrtime.bigint();
      ctx.stop('enough');
      await seen;
      const view = new BigInt64Array(stamps);
      shared.dispose();
      ctx.dispose();
      return ms(Atomics.load(view, 1) - at);
    });
    console.log('main → CPU-bound worker (ms)', JSON.stringify(runs));
    // One block of the loop is a few microseconds: the next check is at once.
    expect(median(runs.map((r) => r.p50))).toBeLessThan(5);
    expect(median(runs.map((r) => r.p99))).toBeLessThan(50);
  });

  it('another async task cancels a TaskGroup: every task has cleaned up when wait() returns', async () => {
    const runs = await measure(async () => {
      const group = new TaskGroup();
      let cleaned = 0;
      for (let i = 0; i < 3; i++) {
        group.spawn(async (ctx) => {
          try {
            await sleep(3_600_000, ctx);
          } finally {
            cleaned++;
          }
        });
      }
      let cancelledAt = 0;
      setTimeout(() => {
        cancelledAt = performance.now();
        group.cancel('the user pressed stop');
      }, 1);
      await group.wait();
      const lag = performance.now() - cancelledAt;
      expect(cleaned).toBe(3);
      expect(group.running).toBe(0);
      return lag;
    });
    console.log('task → TaskGroup cancel, cleaned up (ms)', JSON.stringify(runs));
    expect(median(runs.map((r) => r.p99))).toBeLessThan(5);
  });

  it('a timeout ends a TaskGroup on time, after every task cleaned up', async () => {
    const lags: number[] = [];
    for (let i = 0; i < 20; i++) {
      const request = new Context({ timeoutMs: 20 });
      const started = performance.now();
      const group = new TaskGroup(request);
      let cleaned = 0;
      for (let t = 0; t < 3; t++) {
        group.spawn(async (ctx) => {
          try {
            await sleep(3_600_000, ctx);
          } finally {
            cleaned++;
          }
        });
      }
      await expect(group.wait()).rejects.toMatchObject({ reason: { kind: 'deadline' } });
      lags.push(performance.now() - started - 20);
      expect(cleaned).toBe(3);
      request.dispose();
    }
    lags.sort((a, b) => a - b);
    console.log('timeout → TaskGroup ended, past the deadline (ms)', JSON.stringify(lags));
    expect(median(lags)).toBeLessThan(5);
    expect(lags[0]).toBeGreaterThanOrEqual(-1);
  });
});
