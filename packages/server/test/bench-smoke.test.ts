import { describe, expect, it } from 'vitest';
import { runBench } from './support/run-bench.js';

// Keeps bench/server/run.mjs working: a tiny run (one round, ~2 s per mode) must print its
// JSON document, with cancellation paying off. The assertions are structural (the engine's
// schedule decides goodput, not CPU speed), so they hold on a loaded 2-core machine; the
// latency targets are the full benchmark's business, not this test's.

describe('bench/server/run.mjs', () => {
  it(
    'prints goodput under churn for both modes, and propagation wins',
    { timeout: 90_000 },
    async () => {
      const { code, stdout, stderr } = await runBench('server', {
        ANDON_BENCH_SERVER_CLIENTS: '8',
        ANDON_BENCH_SERVER_SLOTS: '2',
        ANDON_BENCH_SERVER_TOKEN_MS: '2',
        ANDON_BENCH_SERVER_MAX_TOKENS: '40',
        ANDON_BENCH_SERVER_ABANDON_AFTER: '3',
        ANDON_BENCH_SERVER_DURATION_S: '2',
        ANDON_BENCH_SERVER_WARMUP_S: '0.5',
        ANDON_BENCH_SERVER_ROUNDS: '1',
        ANDON_BENCH_SERVER_WARMUP_PHASE_S: '0',
      });
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout);
      expect(result.benchmark).toBe('server');
      for (const mode of ['on', 'off'] as const) {
        const figures = result[mode];
        expect(figures.completed).toBeGreaterThan(0);
        expect(figures.abandoned).toBeGreaterThan(0);
        expect(figures.ttftMs.n).toBeGreaterThan(0);
        expect(figures.abortToSlotFreedMs.n).toBe(figures.abandoned);
        expect(figures.unmatchedAbandons).toBe(0);
        for (const errors of figures.errors) expect(errors).toEqual({});
      }
      expect(result.on.goodputPerS.pooled).toBeGreaterThan(result.off.goodputPerS.pooled);
      // Without propagation the worker decodes every abandoned request to max_tokens.
      expect(result.off.tokensAfterAbort.perAbandonedRequest).toBeGreaterThan(30);
      expect(result.on.tokensAfterAbort.perAbandonedRequest).toBeLessThan(
        result.off.tokensAfterAbort.perAbandonedRequest / 4,
      );
      expect(result.on.engineCancelToStopMs.n).toBe(result.on.abandoned);
      expect(result.off.engineCancelToStopMs.n).toBe(0);
    },
  );
});
