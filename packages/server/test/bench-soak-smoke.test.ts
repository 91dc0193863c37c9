import { describe, expect, it } from 'vitest';
import { runBench } from './support/run-bench.js';

// Keeps bench/soak/run.mjs working, and holds its promise at a small scale: requests with a
// third cancelled in four ways leave no handler running, no handle open and no error.
// (Heap figures are the full run's business; here only a bound far above noise.)

describe('bench/soak/run.mjs', () => {
  it(
    'runs requests with a third cancelled and leaves nothing behind',
    { timeout: 90_000 },
    async () => {
      const { code, stdout, stderr } = await runBench('soak', { ANDON_SOAK_REQUESTS: '3000' });
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout);
      expect(result).toMatchObject({
        bench: 'soak',
        requests: 3000,
        finishedInTime: true,
        workerHandlersLeftRunning: 0,
        protocolErrors: 0,
      });
      expect(result.outcomes.errors, result.firstError).toBe(0);
      expect(result.cancelledShare).toBeGreaterThan(0.2);
      expect(result.cancelledShare).toBeLessThan(0.45);
      for (const side of ['caller', 'worker'] as const) {
        expect(result[side].handlesEnd, side).toBe(result[side].handlesStart);
        expect(result[side].heapGrowthKiB, side).toBeLessThan(8 * 1024);
      }
    },
  );
});
