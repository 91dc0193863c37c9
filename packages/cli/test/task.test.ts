import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { Cli } from './support/cli.js';
import { total } from './support/metrics.js';
import { EXIT_MS, FAST, perTestDir, START_MS, urlOf, workerMetrics } from './support/serve.js';

const dir = perTestDir();

/** Runs one `andon task …` command to its end. */
async function task(args: string[], env: NodeJS.ProcessEnv = {}) {
  const cli = new Cli(['task', ...args], env);
  const ending = await cli.exit(EXIT_MS);
  return { ...ending, stdout: cli.stdout, stderr: cli.stderr, transcript: cli.transcript };
}

/** `andon serve` on a data directory of the test's own. */
function serve(...args: string[]): Cli {
  return new Cli(['serve', '--data-dir', join(dir(), 'data'), ...FAST, ...args], { TMPDIR: dir() });
}

// Each test runs the CLI several times in a row, a node start-up each: seconds apiece on a
// loaded 2-core machine, where the default 20 s per test is not enough.
describe('andon task', { timeout: 60_000 }, () => {
  it('creates, watches, lists and cancels tasks of the local andon serve, which it finds by itself', async () => {
    const server = serve();
    await urlOf(server);
    const local = { ANDON_DATA_DIR: join(dir(), 'data') };

    const created = await task(
      ['create', 'demo/Count', '--input', '{"n":3,"intervalMs":5}'],
      local,
    );
    expect(created.code, created.transcript).toBe(0);
    const [id] = created.stdout;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const watched = await task(['watch', id!, '--json'], local);
    expect(watched.code, watched.transcript).toBe(0);
    const events = watched.stdout.map((line) => JSON.parse(line));
    expect(events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'progress'],
      [2, 'progress'],
      [3, 'progress'],
      [4, 'complete'],
    ]);

    const long = await task(
      ['create', 'demo/Count', '--input', '{"n":1000,"intervalMs":50}'],
      local,
    );
    const longId = long.stdout[0]!;
    const watcher = new Cli(['task', 'watch', longId], local);
    await watcher.line(/\[#*-+\] \d+\/1000/, START_MS);
    const cancelled = await task(['cancel', longId, '--reason', 'enough'], local);
    expect(cancelled.stdout).toEqual(['true']);
    expect(await watcher.exit(EXIT_MS), watcher.transcript).toEqual({ code: 1, signal: null });
    expect(watcher.stderr.join('\n')).toMatch(/cancelled: enough/);
    expect((await task(['cancel', longId], local)).stdout).toEqual(['false']);

    const listed = await task(['list', '--status', 'cancelled'], local);
    expect(listed.stdout).toEqual([
      expect.stringMatching(new RegExp(`^${longId}  demo/Count  cancelled  `)),
    ]);

    server.child.kill('SIGTERM');
    expect(await server.exit(EXIT_MS), server.transcript).toEqual({ code: 0, signal: null });
  });

  it('says what is wrong: no server, a bad kind, bad input, an unknown task', async () => {
    const nowhere = await task(['list'], { ANDON_DATA_DIR: join(dir(), 'empty') });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr.join('\n')).toMatch(
      /no local andon server found .* start one with `andon serve`, or pass --url/,
    );
    const server = serve();
    const url = await urlOf(server);
    const badKind = await task(['create', 'Count', '--url', url]);
    expect(badKind.stderr.join('\n')).toMatch(/a task kind is app\/model, such as demo\/Count/);
    const unknown = await task(['create', 'demo/Nope', '--url', url]);
    expect(unknown.stderr.join('\n')).toMatch(/no task kind demo\/Nope is defined/);
    const badJson = await task(['create', 'demo/Count', '--input', '{n:1}', '--url', url]);
    expect(badJson.stderr.join('\n')).toMatch(/--input is not JSON/);
    const refused = await task(['create', 'demo/Count', '--input', '{"n":-1}', '--url', url]);
    expect(refused.stderr.join('\n')).toMatch(
      /demo\/Count refused the input: n must be a whole number/,
    );
    const missing = await task(['watch', 'no-such-task', '--url', url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.join('\n')).toMatch(/no task no-such-task/);
    const closed = await task(['list', '--url', 'http://127.0.0.1:1']);
    expect(closed.stderr.join('\n')).toMatch(
      /cannot reach the andon server at http:\/\/127\.0\.0\.1:1/,
    );
  });

  it('with --api-keys, andon task needs a key; without keys serve stays on loopback', async () => {
    const keys = join(dir(), 'keys.txt');
    writeFileSync(keys, 'sk-alice-0123456789abcdef alice\n');
    const server = serve('--api-keys', keys);
    const url = await urlOf(server);
    const refused = await task(['create', 'demo/Count', '--url', url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.join('\n')).toMatch(/needs an API key: send Authorization: Bearer/);
    const created = await task(
      ['create', 'demo/Count', '--input', '{"n":1,"intervalMs":1}', '--url', url],
      {
        ANDON_API_KEY: 'sk-alice-0123456789abcdef',
      },
    );
    expect(created.code, created.transcript).toBe(0);
    const watched = await task([
      'watch',
      created.stdout[0]!,
      '--url',
      url,
      '--api-key',
      'sk-alice-0123456789abcdef',
    ]);
    expect(watched.code, watched.transcript).toBe(0);
    server.child.kill('SIGTERM');
    expect((await server.exit(EXIT_MS)).code).toBe(0);

    // Refused before it listens, so nothing is ever bound beyond loopback here.
    const open = serve('--host', '0.0.0.0');
    expect(await open.exit(EXIT_MS), open.transcript).toEqual({ code: 1, signal: null });
    expect(open.stderr.join('\n')).toMatch(
      /refusing to listen on 0\.0\.0\.0 without API keys.*--insecure-no-auth/,
    );
  });

  it('a second andon serve on the same task store refuses to start, and says what to do', async () => {
    const first = serve();
    await urlOf(first);
    const second = serve();
    expect(await second.exit(EXIT_MS), second.transcript).toEqual({ code: 1, signal: null });
    expect(second.stderr.join('\n')).toMatch(
      new RegExp(
        `another andon serve \\(pid ${first.child.pid}\\) is using the task store .* its own --data-dir`,
      ),
    );
    first.child.kill('SIGTERM');
    expect((await first.exit(EXIT_MS)).code).toBe(0);
    // Released on the way out: the next one starts.
    const third = serve();
    await urlOf(third);
    third.child.kill('SIGTERM');
    expect((await third.exit(EXIT_MS)).code).toBe(0);
  });

  // Three servers one after another and a dozen CLI processes: on a loaded machine this
  // takes longer than the default 20 s.
  it(
    'SIGTERM gives an open watcher its end; a restart keeps finished results and fails what was running',
    { timeout: 60_000 },
    async () => {
      const first = serve();
      const url = await urlOf(first);
      const done = await task([
        'create',
        'demo/Count',
        '--input',
        '{"n":1,"intervalMs":1}',
        '--url',
        url,
      ]);
      const doneId = done.stdout[0]!;
      expect((await task(['watch', doneId, '--url', url])).code).toBe(0);
      const long = await task([
        'create',
        'demo/Count',
        '--input',
        '{"n":1000,"intervalMs":50}',
        '--url',
        url,
      ]);
      const longId = long.stdout[0]!;
      const watcher = new Cli(['task', 'watch', longId, '--json', '--url', url]);
      await watcher.line(/"type":"progress"/, START_MS);
      first.child.kill('SIGTERM');
      expect(await first.exit(EXIT_MS), first.transcript).toEqual({ code: 0, signal: null });
      expect(await watcher.exit(EXIT_MS), watcher.transcript).toEqual({ code: 1, signal: null });
      expect(JSON.parse(watcher.stdout.at(-1)!)).toMatchObject({
        type: 'cancelled',
        data: { reason: { kind: 'shutdown' } },
      });

      // A task running when its server is SIGKILLed is failed on the next start.
      const second = serve();
      const url2 = await urlOf(second);
      const orphan = await task([
        'create',
        'demo/Count',
        '--input',
        '{"n":1000,"intervalMs":50}',
        '--url',
        url2,
      ]);
      const orphanId = orphan.stdout[0]!;
      const orphanWatcher = new Cli(['task', 'watch', orphanId, '--json', '--url', url2]);
      await orphanWatcher.line(/"type":"progress"/, START_MS);
      orphanWatcher.child.kill('SIGINT');
      expect((await orphanWatcher.exit(EXIT_MS)).code).toBe(130);
      second.child.kill('SIGKILL');
      await second.exit(EXIT_MS);

      const third = serve();
      const url3 = await urlOf(third);
      const list = await task(['list', '--json', '--url', url3]);
      const byId = new Map(
        JSON.parse(list.stdout.join('\n')).map((t: { id: string }) => [t.id, t]),
      );
      expect(byId.get(doneId)).toMatchObject({ status: 'completed', final_value: { counted: 1 } });
      expect(byId.get(longId)).toMatchObject({ status: 'cancelled', reason: { kind: 'shutdown' } });
      expect(byId.get(orphanId)).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/ended before the task finished/),
      });
      third.child.kill('SIGTERM');
      expect((await third.exit(EXIT_MS)).code).toBe(0);
    },
  );

  it('with --workers 1, cancelling llm/Complete frees the slot on the worker process', async () => {
    // The answer to "hi" ends by itself after 416 tokens: at 100 ms a token that is 41 s for
    // the cancel to arrive first (at 20 ms, a loaded machine's CLI start-ups took longer).
    const server = serve('--workers', '1', '--ms-per-token', '100');
    const url = await urlOf(server);
    const [metrics] = workerMetrics(server);
    const created = await task([
      'create',
      'llm/Complete',
      '--input',
      '{"prompt":"hi","max_tokens":4000}',
      '--url',
      url,
    ]);
    const id = created.stdout[0]!;
    const watcher = new Cli(['task', 'watch', id, '--json', '--url', url]);
    await watcher.line(/"type":"progress"/, START_MS);
    expect(await total([metrics!], 'andon_engine_slots_busy')).toBe(1);
    expect((await task(['cancel', id, '--url', url])).stdout).toEqual(['true']);
    expect((await watcher.exit(EXIT_MS)).code).toBe(1);
    await waitFor(
      async () => (await total([metrics!], 'andon_engine_slots_busy')) === 0,
      'the worker to free the slot',
      { everyMs: 25 },
    );
    expect(
      await total([metrics!], 'andon_cancellations_total', { tier: 'engine', reason: 'stop' }),
    ).toBe(1);
    server.child.kill('SIGTERM');
    expect((await server.exit(EXIT_MS)).code).toBe(0);
  });
});
