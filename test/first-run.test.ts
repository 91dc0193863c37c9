import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// What a new user meets right after `npm ci`: the `andon` command, and `npm run …` scripts
// that say what they are doing instead of sitting silent while they build.

const ROOT = join(import.meta.dirname, '..');
const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};
const cliPackage = JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
};

describe('the andon command', () => {
  const shim = join(ROOT, 'packages/cli', cliPackage.bin.andon!);

  it('is a committed file with its run bit, so npm links it before anything is built', () => {
    expect(cliPackage.bin.andon).toBe('./bin/andon.js');
    expect(cliPackage.files).toContain('bin');
    const staged = execFileSync('git', ['ls-files', '-s', 'packages/cli/bin/andon.js'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(staged).toMatch(/^100755 /);
    expect(readFileSync(shim, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('runs through the link npm made (node_modules/.bin/andon --help)', () => {
    const run = spawnSync(join(ROOT, 'node_modules/.bin/andon'), ['--help'], {
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Usage: andon /);
    expect(run.stdout).toContain('serve');
  });

  it('says to build first when dist/ is missing, instead of a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'andon-bin-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(shim, join(dir, 'bin/andon.js'));
      const run = spawnSync(process.execPath, [join(dir, 'bin/andon.js'), '--help'], {
        encoding: 'utf8',
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(
        'andon: the command is not built yet: run `npm run build` at the repository root first\n',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run scripts that build first', () => {
  const building = Object.entries(rootPackage.scripts).filter(
    ([name, script]) => /\btsc\b|build/.test(script) && !['build', 'typecheck'].includes(name),
  );

  it('build through scripts/build.mjs, never silently', () => {
    expect(building.map(([name]) => name)).toEqual(
      expect.arrayContaining(['pretest', 'demo', 'serve', 'bench:context']),
    );
    for (const [name, script] of building) {
      expect(script, name).toMatch(/^node scripts\/build\.mjs( &&|$)/);
      expect(script, name).not.toContain('--silent');
    }
  });

  it('scripts/build.mjs says it is building, then how long it took', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^andon: building the packages \(tsc -b; the first build takes up to a minute\)…\nandon: built in \d+\.\d s\n$/,
    );
  });

  it('bench:context says what it measures while it runs, not only at the end', async () => {
    const bench = spawn(process.execPath, [join(ROOT, 'bench/context/run.mjs'), '--quick'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        let seen = '';
        bench.stderr.setEncoding('utf8');
        bench.stderr.on('data', (chunk: string) => {
          seen += chunk;
          if (seen.includes('\n')) resolve(seen.split('\n', 1)[0]!);
        });
        bench.once('exit', () => reject(new Error(`bench ended without a progress line: ${seen}`)));
      });
      expect(first).toBe('bench:context: 1/4 create + dispose, 3 trials…');
    } finally {
      bench.kill('SIGKILL');
    }
  });
});
