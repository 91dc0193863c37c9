import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Tests run and type-check against the source: vitest.config.ts derives its aliases from the
// packages' exports, tsconfig.test.json lists them as `paths`. This keeps the list in step.

const ROOT = join(import.meta.dirname, '..');
const PACKAGES = ['context', 'runtime', 'tasks', 'server', 'cli'];

function exportsAsSource(): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const dir of PACKAGES) {
    const manifest = JSON.parse(
      readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8'),
    ) as { name: string; exports: Record<string, { default: string }> };
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      const specifier = subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`;
      const source = target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
      map[specifier] = [`./packages/${dir}/${source}`];
    }
  }
  return map;
}

describe('source aliases', () => {
  it("tsconfig.test.json maps every package export to its source, as vitest's aliases do", () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'tsconfig.test.json'), 'utf8')) as {
      compilerOptions: { paths: Record<string, string[]> };
    };
    expect(config.compilerOptions.paths).toEqual(exportsAsSource());
  });
});
