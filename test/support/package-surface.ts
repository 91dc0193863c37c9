import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The names each specifier exports, as plain node sees them through the package name: the
 * built `dist/`, which is what users install (so run after a build, as `npm test` does).
 */
export function exportedNames(specifiers: readonly string[]): Record<string, string[]> {
  const script = `
    const out = {};
    for (const specifier of ${JSON.stringify(specifiers)}) {
      out[specifier] = Object.keys(await import(specifier)).sort();
    }
    console.log(JSON.stringify(out));
  `;
  const text = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  return JSON.parse(text) as Record<string, string[]>;
}

/** The built declaration files of a package (`packages/<dir>/dist/**.d.ts`) that mention `@internal`. */
export function declarationsMentioningInternal(dir: string): string[] {
  const dist = join(root, 'packages', dir, 'dist');
  const found: string[] = [];
  for (const entry of readdirSync(dist, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.d.ts')) continue;
    if (readFileSync(join(dist, entry), 'utf8').includes('@internal')) found.push(entry);
  }
  return found;
}
