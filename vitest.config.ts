import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const PACKAGES = ['context', 'runtime', 'tasks', 'server', 'cli'];

interface Alias {
  find: RegExp;
  replacement: string;
}

/**
 * Tests run against the source: every `@andon/*` import (and each subpath export such as
 * `@andon/runtime/nats`) resolves to the `src/*.ts` file its `dist/*.js` is built from, so a
 * change is tested when it is made, without a rebuild. The map is read from each package's
 * `exports`, so a new subpath export is covered without touching this file.
 *
 * Only imports inside the test process go through it: tests that start node (the CLI binary,
 * fixtures under test/fixtures, `import('@andon/…')` in a child) still run the build, which
 * is why `npm test` builds first.
 */
function sourceAliases(): Alias[] {
  const aliases: Alias[] = [];
  for (const dir of PACKAGES) {
    const root = new URL(`./packages/${dir}/`, import.meta.url);
    const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      name: string;
      exports: Record<string, { default: string }>;
    };
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
      const source = target.default.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts');
      aliases.push({
        find: new RegExp(`^${specifier.replaceAll('/', '\\/')}$`),
        replacement: fileURLToPath(new URL(source, root)),
      });
    }
  }
  return aliases;
}

// The machines have two cores and the suite holds timing-sensitive tests
// (heartbeats, cancel latency), so keep parallelism modest.
export default defineConfig({
  resolve: { alias: sourceAliases() },
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
