import { defineConfig } from 'vitest/config';

// The machines have two cores and the suite holds timing-sensitive tests
// (heartbeats, cancel latency), so keep parallelism modest.
export default defineConfig({
  test: {
    // test/: checks of the repository as a whole (READMEs, packaging, first-run scripts).
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./vitest.global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default'],
    // Protocol-error tests log on purpose; keep the output for failures.
    env: { ANDON_LOG_LEVEL: process.env.ANDON_LOG_LEVEL ?? 'error' },
  },
});
