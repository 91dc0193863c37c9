import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The repository is read and built on its own: nothing in it may point at documents that
// live outside it (a sibling `shared/` folder exists on some machines, not in a clone).

const ROOT = join(import.meta.dirname, '..');

/** `file:line:text` of every tracked line matching `pattern` (git grep -E). */
function grep(pattern: string): string[] {
  try {
    const out = execFileSync(
      'git',
      ['grep', '-n', '-E', pattern, '--', '.', ':!test/references.test.ts'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    return out.split('\n').filter(Boolean);
  } catch {
    return []; // git grep exits 1 when nothing matches
  }
}

describe('references', () => {
  it('nothing cites a file outside the repository', () => {
    expect(grep(String.raw`\.\./shared/|[^a-z]shared/BASELINES`)).toEqual([]);
  });

  it('every mention of BASELINES.md names bench/BASELINES.md, which exists', () => {
    expect(existsSync(join(ROOT, 'bench/BASELINES.md'))).toBe(true);
    const loose = grep('BASELINES\\.md').filter((line) => !/bench\/BASELINES\.md/.test(line));
    expect(loose).toEqual([]);
  });
});
