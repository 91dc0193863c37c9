import { describe, expect, it } from 'vitest';
import { natsServerBinary } from '../../../test/support/nats-server.js';
import { runBench } from './support/run-bench.js';

// Keeps bench/tasks/run.mjs working: a tiny run must print its JSON document with every
// figure present and every watcher served. No timing targets here: those are the full
// benchmark's business on a quiet machine, not this test's on a loaded one.

describe('bench/tasks/run.mjs', () => {
  it(
    'prints fan-out, cancel and tiny-task figures for andon and its baselines',
    { timeout: 90_000 },
    async () => {
      const { code, stdout, stderr } = await runBench('tasks', {
        ANDON_BENCH_WATCHERS: '20',
        ANDON_BENCH_RATE: '200',
        ANDON_BENCH_SECONDS: '1',
        ANDON_BENCH_CANCEL_WATCHERS: '10',
        ANDON_BENCH_CANCEL_TRIALS: '2',
        ANDON_BENCH_TINY_TASKS: '200',
        ANDON_BENCH_TINY_RUNS: '1',
      });
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout);
      expect(result.bench).toBe('tasks');
      for (const side of ['andon', 'raw'] as const) {
        const fan = result.fanOut[side];
        expect(fan.eventsDelivered, side).toBeGreaterThan(0);
        expect(fan.latencyP50Us).toBeGreaterThan(0);
        expect(fan.latencyP99Us).toBeGreaterThanOrEqual(fan.latencyP50Us);
        expect(fan.eventsDeliveredPerSec).toBeGreaterThan(0);
        expect(fan.rssPerWatcherKiB).toBeGreaterThanOrEqual(0);
        // Every cancel reached every watcher, or the trial would not have ended (the
        // watchers report only once all of them got their `cancelled` event).
        for (const via of ['http', 'inProcess'] as const) {
          const cancel = result.cancelToWatchers[side][via];
          expect(cancel.trials, `${side} ${via}`).toBe(2);
          expect(cancel.lastWatcherP99Ms).toBeGreaterThan(0);
        }
      }
      // Nothing is dropped in a fan-out this small: each watcher gets every event.
      expect(result.fanOut.andon.deliveredFraction).toBe(1);
      expect(result.fanOut.raw.deliveredFraction).toBe(1);
      for (const store of ['sqlite', 'memory', 'direct'] as const) {
        expect(result.tinyTasks.tasksPerSec[store], store).toBeGreaterThan(0);
      }
      expect(result.tinyTasks.overheadPerTaskUs.memory).toBeGreaterThan(0);
    },
  );
});

describe.skipIf(natsServerBinary() === undefined)('bench/tasks/run.mjs --nats', () => {
  it(
    'prints the cross-process cancel, delivery and tasks/s figures beside raw NATS and SQLite',
    { timeout: 90_000 },
    async () => {
      const { code, stdout, stderr } = await runBench(
        'tasks',
        {
          ANDON_BENCH_CANCEL_TRIALS: '3',
          ANDON_BENCH_EVENTS: '20',
          ANDON_BENCH_TINY_TASKS: '50',
        },
        60_000,
        ['--nats'],
      );
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout);
      expect(result.bench).toBe('tasks --nats');
      for (const figure of ['cancelAtBToContextStoppedOnD', 'eventDeliveryToAnotherFrontEnd']) {
        for (const side of ['andon', 'rawNats']) {
          expect(result[figure][side].p50Ms, `${figure} ${side}`).toBeGreaterThan(0);
        }
      }
      expect(result.cancelAtBToContextStoppedOnD.andon.n).toBe(3);
      // Every event reached the watcher on the other front end.
      expect(result.eventDeliveryToAnotherFrontEnd.andon.n).toBe(20);
      for (const store of ['jetstreamCreateOnAThenRunOnD', 'jetstreamOneProcess', 'sqlite']) {
        expect(result.tasksPerSec[store], store).toBeGreaterThan(0);
      }
    },
  );
});
