import { createServer, type Server } from 'node:http';
import { createEmbeddedServer, type EmbeddedServer } from '@andon/server';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeMarker } from '../../../test/support/engine.js';
import { waitFor } from '../../../test/support/wait.js';
import { silentLogger } from '../src/chat/chat-server.js';
import { assertBuilt, Cli, killAll } from './support/cli.js';
import { total } from './support/metrics.js';
import { answerText, assertTmux, statusOf, Terminal } from './support/tmux.js';

// `andon chat` driven as a person would: the real binary in a real terminal (tmux), keys in,
// screen out. The server is one this test starts (so it can look at its engine), or the
// embedded one (whose URL chat prints on stderr).

const MAX_UNREAD = 32; // the engine's default maxUnreadTokens
const PROMPT = 'Tell me about cancellation.';

beforeAll(() => {
  assertBuilt();
  assertTmux();
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await killAll();
});

function terminal(args: string[]): Terminal {
  const term = new Terminal(args);
  cleanups.push(() => term.close());
  return term;
}

/** An andon server whose answers never end by themselves before max_tokens. */
async function server(tokenMs = 20): Promise<EmbeddedServer & { url: string }> {
  const app = createEmbeddedServer({
    engine: { tokenMs, prefillBaseMs: 1, naturalLength: { min: 100_000, max: 100_000 } },
    logger: silentLogger(),
  });
  const url = await app.listen();
  cleanups.push(() => app.close());
  return Object.assign(app, { url });
}

const streamingWith = (atLeast: number) => (screen: string) => {
  const status = statusOf(screen);
  return status?.state === 'streaming' && status.tokens >= atLeast ? status : undefined;
};

describe('andon chat in a terminal', () => {
  it('space pauses the text and the generation, space resumes where it was, s stops and frees the slot', async () => {
    const app = await server();
    const term = terminal(['chat', PROMPT, '--url', app.url, '--max-tokens', '4000']);
    await term.until(streamingWith(10), 'ten tokens streamed');

    term.keys('Space');
    const paused = await term.until(
      (s) => statusOf(s)?.state === 'paused' && s,
      'the paused state',
    );
    const shownAtPause = answerText(paused);
    const received = statusOf(paused)!.tokens;
    // The generation itself stops: the engine parks the sequence, its slot kept.
    await waitFor(async () => app.engine.stats().sequencesParked === 1, 'the engine to park');
    const generated = app.engine.stats().tokensGenerated;
    // While paused it decodes nothing: the engine's count grows by the marker's tokens only.
    expect(await decodeMarker(app.engine, 15)).toBe(15);
    expect(app.engine.stats()).toMatchObject({
      tokensGenerated: generated + 15,
      sequencesParked: 1,
    });
    // Decoded past what the client had: at most maxUnreadTokens, +1 the server had already
    // asked for, + the few decoded while the pause request travelled (20 ms a token).
    expect(generated - received).toBeLessThanOrEqual(MAX_UNREAD + 1 + 3);
    // No text after the pause key: the screen shows what it showed when it said paused.
    expect(answerText(term.screen())).toBe(shownAtPause);

    term.keys('Space');
    await term.until(streamingWith(received + 40), 'the answer to go on after resume');
    // It went on where it was: what was on screen is still there, followed by more.
    const resumed = answerText(term.screen());
    expect(resumed.startsWith(shownAtPause)).toBe(true);
    expect(resumed.length).toBeGreaterThan(shownAtPause.length);

    term.keys('s');
    await term.until((s) => statusOf(s)?.state === 'stopped', 'the stopped state');
    expect(await term.exitCode()).toBe(0);
    await waitFor(async () => app.engine.stats().slotsBusy === 0, 'the server to free the slot');
    expect(app.engine.stats()).toMatchObject({
      cancelled: { disconnect: 1 },
      tokensAfterCancel: 0,
    });
    // The partial text stays on the screen.
    expect(answerText(term.screen()).startsWith(shownAtPause)).toBe(true);
  });

  it('without --url it runs the embedded server; Esc stops the answer and the slot is freed', async () => {
    // A prompt loop, so the embedded server is still up to be asked after the stop.
    const term = terminal(['chat', '--ms-per-token', '100', '--max-tokens', '400']);
    const url = await term.until(
      (s) => /embedded andon server at (http:\/\/127\.0\.0\.1:\d+)/.exec(s)?.[1],
      'the embedded server URL',
    );
    await term.until((s) => /^>\s*$/m.test(s), 'the prompt');
    term.keys(PROMPT, 'Enter');
    await term.until(streamingWith(2), 'the answer to stream');
    const metrics = [`${url}/metrics`];
    expect(await total(metrics, 'andon_engine_slots_busy')).toBe(1);
    term.keys('Escape');
    await term.until((s) => statusOf(s)?.state === 'stopped', 'the stopped state');
    await waitFor(
      async () =>
        (await total(metrics, 'andon_engine_slots_busy')) === 0 &&
        (await total(metrics, 'andon_cancellations_total', {
          tier: 'engine',
          reason: 'disconnect',
        })) === 1,
      'the embedded engine to free the slot',
    );
    await term.until((s) => /^>\s*$/m.test(s), 'the prompt again');
    term.keys('q', 'Enter');
    expect(await term.exitCode()).toBe(0);
  });

  it('Ctrl-C stops the answer; a second Ctrl-C within 2 s exits 130 at once', async () => {
    const app = await server();
    const term = terminal(['chat', '--url', app.url, '--max-tokens', '4000']);
    await term.until((s) => /^>\s*$/m.test(s), 'the prompt');
    term.keys(PROMPT, 'Enter');
    await term.until(streamingWith(3), 'the answer to stream');
    term.keys('C-c');
    await term.until((s) => statusOf(s)?.state === 'stopped', 'the first Ctrl-C to stop it');
    term.keys('C-c');
    expect(await term.exitCode()).toBe(130);
    await waitFor(async () => app.engine.stats().slotsBusy === 0, 'the slot to be freed');
  });

  it('q quits while an answer streams, and the terminal is restored', async () => {
    const app = await server();
    const term = terminal(['chat', PROMPT, '--url', app.url, '--max-tokens', '4000']);
    await term.until(streamingWith(3), 'the answer to stream');
    term.keys('q');
    expect(await term.exitCode()).toBe(0);
    // Raw mode is off again: the terminal reads lines and echoes.
    expect(term.ttyModes()).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(term.ttyModes()).toMatch(/(^|\s)echo(\s|$)/m);
    await waitFor(async () => app.engine.stats().slotsBusy === 0, 'the slot to be freed');
  });

  it('against a server without the pause endpoint, a pause only stops reading, and says so', async () => {
    const plain = await notAndonServer();
    const term = terminal(['chat', PROMPT, '--url', plain.url]);
    await term.until(streamingWith(3), 'the answer to stream');
    term.keys('Space');
    const screen = await term.until(
      (s) => s.includes('paused (display only: this server cannot pause generation)') && s,
      'the display-only label',
    );
    expect(answerText(term.screen())).toBe(answerText(screen));
    term.keys('Space');
    await term.until(streamingWith(statusOf(screen)!.tokens + 5), 'reading to go on');
    term.keys('s');
    expect(await term.exitCode()).toBe(0);
  });
});

describe('examples/chat/keyboard-stream.mjs', () => {
  it('s stops the stream and the engine counts the cancellation', async () => {
    const example = new URL('../../../examples/chat/keyboard-stream.mjs', import.meta.url).pathname;
    const term = new Terminal([], [process.execPath, example]);
    cleanups.push(() => term.close());
    await term.until((s) => /press s to stop\)\n\S/.test(s), 'the answer to stream');
    term.keys('s');
    await term.until((s) => s.includes('[stopped: {"disconnect":1} on the engine]'), 'the stop');
    expect(await term.exitCode()).toBe(0);
  });
});

describe('andon chat without a terminal', () => {
  it('streams plain text to a pipe and exits 0 at the end', async () => {
    const app = await server(2);
    const cli = new Cli(['chat', PROMPT, '--url', app.url, '--max-tokens', '20']);
    expect((await cli.exit(15_000)).code).toBe(0);
    const out = cli.stdout.join('\n');
    expect(out).not.toContain('\x1b');
    expect(out.trim().split(/\s+/)).toHaveLength(20);
  });

  it('SIGTERM cancels the request on the server', async () => {
    const app = await server();
    const cli = new Cli(['chat', PROMPT, '--url', app.url, '--max-tokens', '4000']);
    await waitFor(async () => app.engine.stats().tokensGenerated >= 5, 'tokens to flow');
    expect(app.engine.stats().slotsBusy).toBe(1);
    cli.child.kill('SIGTERM');
    expect((await cli.exit(15_000)).code).toBe(143);
    await waitFor(async () => app.engine.stats().slotsBusy === 0, 'the slot to be freed');
    expect(app.engine.stats().cancelled).toMatchObject({ disconnect: 1 });
  });

  it('SIGINT cancels the request too (exit 0: the answer was stopped)', async () => {
    const app = await server();
    const cli = new Cli(['chat', PROMPT, '--url', app.url, '--max-tokens', '4000']);
    await waitFor(async () => app.engine.stats().tokensGenerated >= 5, 'tokens to flow');
    cli.child.kill('SIGINT');
    expect((await cli.exit(15_000)).code).toBe(0);
    await waitFor(async () => app.engine.stats().slotsBusy === 0, 'the slot to be freed');
  });

  it('says clearly when the server cannot be reached or refuses', async () => {
    const unreachable = new Cli(['chat', 'hi', '--url', 'http://127.0.0.1:1']);
    expect((await unreachable.exit(15_000)).code).toBe(1);
    expect(unreachable.stderr.join('\n')).toMatch(
      /andon chat: error: cannot reach the server at http:\/\/127\.0\.0\.1:1\/v1/,
    );
    const app = await server();
    const wrongModel = new Cli(['chat', 'hi', '--url', app.url, '--model', 'nope']);
    expect((await wrongModel.exit(15_000)).code).toBe(1);
    expect(wrongModel.stderr.join('\n')).toMatch(/the server refused the request: 404 .*nope/);
  });
});

/** An OpenAI-like server that streams forever and knows nothing of pause (404). */
async function notAndonServer(): Promise<{ url: string }> {
  const http: Server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"not found"}}');
      return;
    }
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let n = 0;
    const timer = setInterval(() => {
      const chunk = { id: 'x', object: 'chat.completion.chunk', created: 0, model: 'm' };
      const choices = [{ index: 0, delta: { content: `word${n++} ` }, finish_reason: null }];
      res.write(`data: ${JSON.stringify({ ...chunk, choices })}\n\n`);
    }, 20);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  );
  const { port } = http.address() as { port: number };
  return { url: `http://127.0.0.1:${port}` };
}
