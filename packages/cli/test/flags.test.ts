import { describe, expect, it } from 'vitest';
import { Cli } from './support/cli.js';
import { EXIT_MS, perTestDir } from './support/serve.js';

const dir = perTestDir();

const cases: [string[], RegExp][] = [
  [
    ['serve', '--workers', '0'],
    /option '--workers <n>' argument '0' is invalid\. expected a whole number from 1 to 64/,
  ],
  [
    ['serve', '--port', '70000'],
    /option '--port <port>' argument '70000' is invalid\. expected a whole number from 0 to 65535/,
  ],
  [
    ['serve', '--ms-per-token', 'fast'],
    /option '--ms-per-token <ms>' argument 'fast' is invalid\. expected a number >= 0/,
  ],
  [['serve', '--store', 'jetstream'], /option '--store jetstream' needs --nats <url>/],
  [['serve', '--task-concurrency', '0'], /option '--task-concurrency 0' runs no task here/],
  [
    ['serve', '--host', 'http://localhost'],
    /option '--host <host>' argument 'http:\/\/localhost' is invalid\. expected a host name or IP address/,
  ],
  [
    ['worker', '--slots', '0'],
    /option '--slots <n>' argument '0' is invalid\. expected a whole number >= 1/,
  ],
  [
    ['worker', '--nats', 'http://127.0.0.1:4222'],
    /option '--nats <url>' argument 'http:\/\/127\.0\.0\.1:4222' is invalid\. expected a nats:\/\/ or tls:\/\/ URL/,
  ],
  [
    ['worker', '--nats', 'nats://127.0.0.1:4222', '--discovery-dir', '/tmp'],
    /option '--nats <url>' cannot be used with option '--discovery-dir <dir>'/,
  ],
  [['worker', '--namespace', 'a/b'], /option '--namespace <name>' argument 'a\/b' is invalid/],
  [
    ['frontend', '--min-workers', '0'],
    /option '--min-workers <n>' argument '0' is invalid\. expected a whole number >= 1/,
  ],
  [['router', '--wait', 'soon'], /option '--wait <ms>' argument 'soon' is invalid/],
  [['serve', '--bogus'], /unknown option '--bogus'/],
  [
    ['worker', '--advertise', 'http://worker-1'],
    /option '--advertise <host>' argument 'http:\/\/worker-1' is invalid\. expected a host name or IP address/,
  ],
  [
    ['serve', '--store', 'postgres'],
    /option '--store <kind>' argument 'postgres' is invalid\. Allowed choices are memory, sqlite, jetstream/,
  ],
  [
    ['serve', '--keep-for', 'a while'],
    /option '--keep-for <duration>' argument 'a while' is invalid\. expected a duration such as 90s/,
  ],
  [
    ['serve', '--task-concurrency', '-1'],
    /option '--task-concurrency <n>' argument '-1' is invalid\. expected a whole number from 0 to 10000/,
  ],
  [
    ['serve', '--api-keys', '/nonexistent/keys.txt'],
    /cannot read the API keys file \/nonexistent\/keys\.txt/,
  ],
];

describe('bad flags', () => {
  for (const [args, message] of cases) {
    it(`andon ${args.join(' ')}: exits 1 saying what is wrong`, async () => {
      const cli = new Cli(args, { TMPDIR: dir() });
      expect(await cli.exit(EXIT_MS), cli.transcript).toEqual({ code: 1, signal: null });
      expect(cli.stderr.join('\n')).toMatch(message);
      expect(cli.stdout).toEqual([]);
    });
  }

  it('a frontend whose workers never appear gives up after --wait with a clear error', async () => {
    const cli = new Cli(['frontend', '--discovery-dir', dir(), '--wait', '300']);
    expect(await cli.exit(EXIT_MS), cli.transcript).toEqual({ code: 1, signal: null });
    expect(cli.stderr.join('\n')).toMatch(/andon frontend: error: cannot start: .*instance/i);
  });

  it('a worker that cannot reach its NATS server says so and exits 1', async () => {
    const cli = new Cli(['worker', '--nats', 'nats://127.0.0.1:1']);
    expect(await cli.exit(EXIT_MS), cli.transcript).toEqual({ code: 1, signal: null });
    expect(cli.stderr.join('\n')).toMatch(
      /andon worker: error: cannot start: .*NATS at nats:\/\/127\.0\.0\.1:1/,
    );
  });
});
