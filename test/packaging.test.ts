import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Each package as a user gets it: `npm pack` (which builds first), then installed from the
// tarballs into an empty project, then used from ESM `import` and CommonJS `require`.

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const PACKAGES = ['context', 'runtime', 'tasks', 'server', 'cli'] as const;
const INSTALL_MS = 240_000;

interface Packed {
  name: string;
  filename: string;
  files: { path: string }[];
}

let dir = '';
let project = '';
let packed: Packed[] = [];
let installLog = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'andon-pack-'));
  const { stdout } = await run(
    'npm',
    [
      'pack',
      '--json',
      '--pack-destination',
      dir,
      ...PACKAGES.flatMap((name) => ['--workspace', `packages/${name}`]),
    ],
    { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  packed = JSON.parse(stdout) as Packed[];

  project = join(dir, 'project');
  mkdirSync(project);
  const dependencies = Object.fromEntries(
    packed.map((p) => [p.name, `file:${join(dir, p.filename)}`]),
  );
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'andon-consumer',
      private: true,
      dependencies,
      // As packages/runtime/README.md advises on Node 20 (see the root package.json).
      overrides: { '@nats-io/nuid': '2.0.3' },
    }),
  );
  // --ignore-scripts: better-sqlite3 would compile SQLite from source here (minutes on two
  // cores); its native module loads only through `@andon/tasks/sqlite`, not used below.
  const installed = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline'],
    { cwd: project, maxBuffer: 64 * 1024 * 1024 },
  );
  installLog = `${installed.stdout}\n${installed.stderr}`;
}, INSTALL_MS);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('packs every package with its build, README and LICENSE', () => {
    expect(packed.map((p) => p.name)).toEqual([
      '@andon/context',
      '@andon/runtime',
      '@andon/tasks',
      '@andon/server',
      'andon',
    ]);
    for (const p of packed) {
      const paths = p.files.map((f) => f.path);
      expect(paths, p.name).toContain('package.json');
      expect(paths, p.name).toContain('README.md');
      expect(paths, p.name).toContain('dist/index.js');
      expect(
        paths.some((path) => path.includes('test/')),
        p.name,
      ).toBe(false);
      expect(paths.includes('LICENSE'), `${p.name} LICENSE`).toBe(true);
    }
    expect(packed.find((p) => p.name === 'andon')!.files.map((f) => f.path)).toContain(
      'bin/andon.js',
    );
  });

  it('each LICENSE is the Apache-2.0 text at the root', () => {
    const text = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    for (const name of PACKAGES) {
      const manifest = JSON.parse(
        readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8'),
      );
      expect(manifest.license, name).toBe('Apache-2.0');
      expect(manifest.files, name).toContain('LICENSE');
      expect(readFileSync(join(ROOT, 'packages', name, 'LICENSE'), 'utf8'), name).toBe(text);
      expect(manifest.scripts?.prepack, `${name} builds before npm pack`).toBe('tsc -b');
    }
  });

  it('declares only dependencies its code imports (no hono in @andon/server)', () => {
    const server = JSON.parse(readFileSync(join(ROOT, 'packages/server/package.json'), 'utf8'));
    expect(Object.keys(server.dependencies)).not.toContain('hono');
    expect(Object.keys(server.dependencies)).not.toContain('@hono/node-server');
  });
});

describe('installed from the tarballs into an empty project', () => {
  it('installs without engine warnings on this Node', () => {
    expect(installLog).not.toMatch(/EBADENGINE/);
  });

  it('works from ESM import', async () => {
    const file = join(project, 'esm.mjs');
    writeFileSync(
      file,
      `
import { Context } from '@andon/context';
import { signalContext } from '@andon/context/node';
import { Runtime } from '@andon/runtime';
import { TaskManager } from '@andon/tasks';
import { createEmbeddedServer } from '@andon/server';
import { buildProgram } from 'andon';
const ctx = new Context();
ctx.stop('done');
if (!ctx.isStopped() || typeof signalContext !== 'function') throw new Error('context');
const rt = await Runtime.start({ transport: 'memory' });
await rt.shutdown();
const tasks = await TaskManager.open();
await tasks.shutdown();
const app = createEmbeddedServer();
const url = await app.listen();
const models = await (await fetch(url + '/v1/models/andon-sim')).json();
await app.close();
if (models.id !== 'andon-sim') throw new Error('server');
if (buildProgram().name() !== 'andon') throw new Error('cli');
console.log('esm ok');
`,
    );
    const { stdout } = await run(process.execPath, [file], { cwd: project });
    expect(stdout.trim()).toBe('esm ok');
  });

  it('works from CommonJS require (Node 20.19+ loads ESM with require)', async () => {
    const file = join(project, 'cjs.cjs');
    writeFileSync(
      file,
      `
const { Context } = require('@andon/context');
const { Runtime } = require('@andon/runtime');
const { TaskManager } = require('@andon/tasks');
const { OpenAIServer } = require('@andon/server');
const { buildProgram } = require('andon');
for (const [name, value] of Object.entries({ Context, Runtime, TaskManager, OpenAIServer, buildProgram })) {
  if (typeof value !== 'function') throw new Error(name + ' is ' + typeof value);
}
console.log('cjs ok');
`,
    );
    const { stdout } = await run(process.execPath, [file], { cwd: project });
    expect(stdout.trim()).toBe('cjs ok');
  });

  it('links the andon command', async () => {
    const { stdout } = await run(join(project, 'node_modules/.bin/andon'), ['--help'], {
      cwd: project,
    });
    expect(stdout).toMatch(/^Usage: andon /);
  });
});
