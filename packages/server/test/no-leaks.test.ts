import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { chatBody, startApp } from './helpers.js';
import { RawRequest } from './raw-http.js';

const count = (kind: string) =>
  process.getActiveResourcesInfo().filter((name) => name === kind).length;

describe('nothing leaks', () => {
  it('after close(), no server, socket or timer of ours is left, whatever the requests did', async () => {
    const before = {
      servers: count('TCPServerWrap'),
      sockets: count('TCPSocketWrap'),
      timers: count('Timeout'),
    };
    const app = await startApp({ heartbeatMs: 500 });
    const sdk = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    // A completed stream, an aborted one, an aborted non-stream, a raw disconnect, a bad
    // request and one left running into the shutdown.
    const done = await sdk.chat.completions.create({
      ...chatBody(),
      model: 'andon-sim',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      max_tokens: 5,
    });
    for await (const _chunk of done) {
      // drain
    }
    const aborted = await sdk.chat.completions.create({
      ...chatBody(),
      model: 'andon-sim',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
      max_tokens: 4000,
    });
    for await (const _chunk of aborted) break;
    const controller = new AbortController();
    const whole = sdk.chat.completions.create(
      {
        ...chatBody(),
        model: 'andon-sim',
        messages: [{ role: 'user', content: 'x' }],
        max_tokens: 4000,
      },
      { signal: controller.signal },
    );
    whole.catch(() => {});
    await waitFor(() => app.engine.stats().slotsBusy >= 1, 'the non-streaming request to start');
    controller.abort();
    const raw = new RawRequest(
      app.url,
      'POST',
      '/v1/completions',
      JSON.stringify({ model: 'andon-sim', prompt: 'a', stream: true, max_tokens: 4000 }),
    );
    await raw.until((text) => text.includes('data: '), 'the raw stream');
    raw.destroy();
    await fetch(`${app.url}/v1/chat/completions`, { method: 'POST', body: '{' }).then((r) =>
      r.text(),
    );
    const last = new RawRequest(
      app.url,
      'POST',
      '/v1/completions',
      JSON.stringify({ model: 'andon-sim', prompt: 'b', stream: true, max_tokens: 4000 }),
    );
    await last.until((text) => text.includes('data: '), 'the last stream');

    await app.close();

    // Timers that keep the process alive (engine token and prefill timers): none pending.
    expect(count('Timeout')).toBeLessThanOrEqual(before.timers);
    expect(app.engine.stats()).toMatchObject({
      slotsBusy: 0,
      queueLength: 0,
      tokensAfterCancel: 0,
    });
    expect(app.server.inFlight).toBe(0);
    // The client side of fetch's keep-alive pool closes when it sees our FIN: give it a moment.
    await waitFor(
      () => count('TCPServerWrap') <= before.servers && count('TCPSocketWrap') <= before.sockets,
      `servers and sockets back to ${JSON.stringify(before)}; now ${process.getActiveResourcesInfo().join(',')}`,
      3_000,
    );
  });
});
