import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cli } from './support/cli.js';
import { sdk, streamToEnd } from './support/openai.js';
import { EXIT_MS, FAST, perTestDir, START_MS, urlOf } from './support/serve.js';

const dir = perTestDir();

function secretFile(name: string, text: string, mode = 0o600): string {
  const file = join(dir(), name);
  writeFileSync(file, text, { mode });
  return file;
}

describe('the shared secret on the command line', () => {
  it('a worker without one refuses to listen beyond loopback, and says what to do', async () => {
    const worker = new Cli(['worker', '--discovery-dir', dir(), '--host', '0.0.0.0', ...FAST], {
      ANDON_TOKEN: '',
    });
    const ending = await worker.exit(EXIT_MS);
    expect(ending.code, worker.transcript).not.toBe(0);
    expect(worker.transcript).toMatch(
      /the worker would listen on 0\.0\.0\.0 without a shared secret.*--token-file FILE/,
    );
  });

  it('--token-file names what is wrong with the file: missing, empty, readable by others', async () => {
    const missing = join(dir(), 'no-such-file');
    for (const [file, message] of [
      [missing, /cannot read .*no-such-file \(ENOENT\)/],
      [secretFile('empty', '\n'), /empty is empty/],
      [secretFile('open', 'secret', 0o644), /may be read by other users \(mode 644\).*chmod 600/],
    ] as const) {
      const worker = new Cli(['worker', '--discovery-dir', dir(), '--token-file', file]);
      const ending = await worker.exit(EXIT_MS);
      expect(ending.code, worker.transcript).not.toBe(0);
      expect(worker.transcript).toMatch(message);
    }
  });

  it('a front end with the same --token-file streams through the worker; one without it cannot', async () => {
    const token = secretFile('token', 'a-secret-for-this-test\n');
    const worker = new Cli(['worker', '--discovery-dir', dir(), '--token-file', token, ...FAST]);
    await worker.line(/worker ready/, START_MS);
    const good = new Cli(['frontend', '--discovery-dir', dir(), '--token-file', token], {
      ANDON_TOKEN: '',
    });
    const { finish } = await streamToEnd(sdk(await urlOf(good)));
    expect(finish).toBe('length');
    const bad = new Cli(['frontend', '--discovery-dir', dir()], { ANDON_TOKEN: '' });
    await expect(streamToEnd(sdk(await urlOf(bad)))).rejects.toThrow();
    expect(worker.transcript).not.toContain('a-secret-for-this-test');
    for (const cli of [bad, good, worker]) cli.child.kill('SIGTERM');
    for (const cli of [bad, good, worker])
      expect((await cli.exit(EXIT_MS)).code, cli.transcript).toBe(0);
  });

  it('serve --workers hands its workers a secret of its own, in their environment, not on their command line', async () => {
    const serve = new Cli(['serve', '--workers', '1', ...FAST], {
      TMPDIR: dir(),
      ANDON_TOKEN: '',
    });
    await urlOf(serve);
    const children = execFileSync('pgrep', ['-P', String(serve.child.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(children).toHaveLength(1);
    const environ = readFileSync(`/proc/${children[0]}/environ`, 'utf8').split('\0');
    const token = environ.find((entry) => entry.startsWith('ANDON_TOKEN='));
    expect(token?.length).toBeGreaterThan('ANDON_TOKEN='.length + 30);
    const cmdline = readFileSync(`/proc/${children[0]}/cmdline`, 'utf8');
    expect(cmdline).not.toContain(token!.slice('ANDON_TOKEN='.length));
    const { finish } = await streamToEnd(sdk(await urlOf(serve)));
    expect(finish).toBe('length');
    serve.child.kill('SIGTERM');
    expect((await serve.exit(EXIT_MS)).code, serve.transcript).toBe(0);
  });
});
