import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Block, blocks, documents, isCode, isFragment } from './readme-blocks.js';

// Every code block in every README and doc runs as written (see readme-blocks.ts for the
// convention). A block that needs a server gets the `andon serve` this file starts.

const ROOT = join(import.meta.dirname, '..');
// Under the repository's node_modules, so that a block's imports (`@andon/context`,
// `openai`) resolve as they do for a reader working in the repository.
const SCRATCH = join(ROOT, 'node_modules/.cache/andon-readme-blocks');
const RUN_MS = 60_000;

const all = documents(ROOT).flatMap((file) => blocks(ROOT, file));
const code = all.filter(isCode);
const runnable = code.filter((block) => !isFragment(block));

let serve: ChildProcess | undefined;
let port = '';
let dataDir = '';

beforeAll(async () => {
  mkdirSync(SCRATCH, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'andon-readme-'));
  serve = spawn(
    process.execPath,
    [join(ROOT, 'packages/cli/dist/bin.js'), 'serve', '--store', 'memory'],
    {
      env: { ...process.env, ANDON_DATA_DIR: dataDir, ANDON_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    serve!.stdout!.setEncoding('utf8');
    serve!.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const line = /^http:\/\/127\.0\.0\.1:(\d+)$/m.exec(out);
      if (line) resolve(line[0]);
    });
    serve!.once('exit', (codeNow) => reject(new Error(`andon serve exited (${codeNow})`)));
  });
  port = new URL(url).port;
}, 30_000);

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const ended = new Promise((resolve) => serve!.once('exit', resolve));
    serve.kill('SIGINT');
    await ended;
  }
  rmSync(SCRATCH, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

/** The block as the file a reader would save it in: JS as is, TS compiled. */
function program(block: Block): string {
  const source = block.code.replaceAll('127.0.0.1:PORT', `127.0.0.1:${port}`);
  if (block.lang !== 'ts') return source;
  return ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
    },
  }).outputText;
}

function run(block: Block): Promise<{ code: number | null; output: string }> {
  const file = join(SCRATCH, `${block.where.replace(/[^\w]+/g, '_')}.mjs`);
  writeFileSync(file, program(block));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd: ROOT,
      env: { ...process.env, ANDON_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${block.where} still running after ${RUN_MS} ms:\n${output}`));
    }, RUN_MS);
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, output });
    });
  });
}

describe('README and docs code blocks', () => {
  it('are found (the extraction works)', () => {
    expect(runnable.length).toBeGreaterThanOrEqual(10);
    expect(runnable.map((b) => b.where)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^README\.md:/)]),
    );
  });

  it('only a few are fragments, each marked as such', () => {
    expect(code.filter(isFragment).map((b) => b.where).length).toBeLessThanOrEqual(4);
  });

  it('JS blocks use nothing Node 20 cannot run: no `using` declarations', () => {
    for (const block of code.filter((b) => b.lang !== 'ts')) {
      expect(block.code, block.where).not.toMatch(/^\s*(await\s+)?using\s+\w+\s*=/m);
    }
  });

  it('a TS block with `using` is followed by its plain-JS form', () => {
    code.forEach((block, i) => {
      if (block.lang !== 'ts' || !/^\s*(await\s+)?using\s/m.test(block.code)) return;
      const next = code[i + 1];
      expect(next?.lang, `${block.where}: the plain-JS form right after it`).toBe('js');
    });
  });

  for (const block of runnable) {
    it(`${block.where} (${block.lang}) runs and exits 0`, { timeout: RUN_MS + 5_000 }, async () => {
      const { code: exitCode, output } = await run(block);
      expect(exitCode, `${block.where} printed:\n${output}`).toBe(0);
    });
  }
});
