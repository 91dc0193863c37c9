import { describe, expect, it } from 'vitest';
import { configureLogging, createLogger, LogSettingError } from '../src/lib/log.js';
import { Cli } from './support/cli.js';
import { sdk, streamToEnd } from './support/openai.js';
import { EXIT_MS, FAST, perTestDir, urlOf } from './support/serve.js';

// What a person (a terminal) and a machine (a pipe) get from `andon serve`'s logs, and
// what a mistyped ANDON_LOG_LEVEL does.

const dir = perTestDir();

/** Serves one short completion and returns the request's log line. */
async function requestLine(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const serve = new Cli(['serve', '--store', 'memory', ...FAST, ...args], {
    TMPDIR: dir(),
    ANDON_LOG_LEVEL: 'info',
    ...env,
  });
  const url = await urlOf(serve);
  await streamToEnd(sdk(url), 3);
  const line = await serve.line(/request/, EXIT_MS);
  serve.child.kill('SIGINT');
  await serve.exit(EXIT_MS);
  return line;
}

describe('andon serve logs', () => {
  it('on a pipe, by default: one JSON object per request', async () => {
    const line = await requestLine([]);
    expect(JSON.parse(line)).toMatchObject({
      name: 'andon-frontend',
      msg: 'request',
      method: 'POST',
      path: '/v1/chat/completions',
      status: 200,
    });
  });

  it('--log-format pretty (what a terminal gets): a readable line', async () => {
    const line = await requestLine(['--log-format', 'pretty']);
    expect(line).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(andon-frontend\): request POST \/v1\/chat\/completions 200 [\d.]+ ms/,
    );
  });

  it('$ANDON_LOG_FORMAT=pretty does the same', async () => {
    const line = await requestLine([], { ANDON_LOG_FORMAT: 'pretty' });
    expect(line).toMatch(/INFO \(andon-frontend\): request POST/);
  });

  // Three CLI runs in a row, each allowed EXIT_MS.
  it(
    'an unknown ANDON_LOG_LEVEL is an error that names the valid levels',
    { timeout: 3 * EXIT_MS },
    async () => {
      for (const command of ['serve', 'worker', 'demo']) {
        const cli = new Cli([command], { TMPDIR: dir(), ANDON_LOG_LEVEL: 'verbose' });
        expect(await cli.exit(EXIT_MS)).toEqual({ code: 1, signal: null });
        expect(cli.stderr.join('\n')).toContain(
          `andon ${command}: error: ANDON_LOG_LEVEL=verbose is not a log level: use one of trace, debug, info, warn, error, fatal, silent`,
        );
        expect(cli.stdout).toEqual([]);
      }
    },
  );

  it('an unknown --log-format is refused', async () => {
    const cli = new Cli(['serve', '--log-format', 'xml'], { TMPDIR: dir() });
    expect(await cli.exit(EXIT_MS)).toMatchObject({ code: 1 });
    expect(cli.stderr.join('\n')).toMatch(/--log-format.*Allowed choices are pretty, json/);
  });
});

describe('configureLogging', () => {
  it('chooses pretty on a terminal and JSON otherwise, and tells child processes', () => {
    const tty = process.stderr.isTTY;
    try {
      for (const [isTTY, format] of [
        [true, 'pretty'],
        [false, 'json'],
      ] as const) {
        process.stderr.isTTY = isTTY;
        const env: NodeJS.ProcessEnv = {};
        configureLogging(undefined, env);
        expect(env.ANDON_LOG_FORMAT).toBe(format);
      }
      const env: NodeJS.ProcessEnv = {};
      configureLogging('json', env);
      expect(env.ANDON_LOG_FORMAT).toBe('json');
    } finally {
      process.stderr.isTTY = tty;
    }
  });

  it('refuses unknown levels and formats with the valid choices', () => {
    expect(() => configureLogging(undefined, { ANDON_LOG_LEVEL: 'loud' })).toThrow(LogSettingError);
    expect(() => configureLogging(undefined, { ANDON_LOG_FORMAT: 'xml' })).toThrow(
      'ANDON_LOG_FORMAT=xml is not a log format: use pretty or json',
    );
  });

  it('createLogger is pino at $ANDON_LOG_LEVEL, else the fallback', () => {
    const before = process.env.ANDON_LOG_LEVEL;
    try {
      delete process.env.ANDON_LOG_LEVEL;
      expect(createLogger('t', 'warn').level).toBe('warn');
      process.env.ANDON_LOG_LEVEL = 'debug';
      expect(createLogger('t', 'warn').level).toBe('debug');
    } finally {
      process.env.ANDON_LOG_LEVEL = before;
    }
  });
});
