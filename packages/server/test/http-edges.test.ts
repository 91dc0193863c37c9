import type { Context } from '@andon/context';
import { BackendError, NoInstances } from '@andon/runtime';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { type CompletionBackend, type EngineChunk, OpenAIServer } from '../src/index.js';
import { chatBody, LogCapture, metric, startApp, type TestApp } from './helpers.js';
import { RawRequest } from './raw-http.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function app(options: Parameters<typeof startApp>[0] = {}): Promise<TestApp> {
  const started = await startApp(options);
  cleanups.push(() => started.close());
  return started;
}

/** A server in front of a hand-made backend, for the failures the engine never makes. */
async function serverWith(backend: CompletionBackend, heartbeatMs = 15_000) {
  const logs = new LogCapture();
  const server = new OpenAIServer({
    backend,
    logger: logs.logger,
    heartbeatMs,
    shutdownGraceMs: 200,
  });
  const url = await server.listen();
  cleanups.push(() => server.close());
  return { server, url, logs };
}

const post = (url: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('streams end with [DONE] on every normal end', () => {
  it.each([
    ['max_tokens', { max_tokens: 6 }, 'length', 1_000],
    // Nearly every word holds an 'e', and the model would run to 1 000 tokens by itself.
    ['a stop string', { max_tokens: 2_000, seed: 1, stop: ['e'] }, 'stop', 1_000],
    ['the natural end', { max_tokens: 400 }, 'stop', 4],
  ])('%s', async (_name, extra, finish, natural) => {
    const server = await app({ engine: { naturalLength: { min: natural, max: natural } } });
    const response = await post(
      server.url,
      '/v1/chat/completions',
      chatBody({ stream: true, ...extra }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await response.text();
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    const events = [...body.matchAll(/^data: (.*)$/gm)].map((m) => m[1]!);
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event));
    expect(chunks.at(-1).choices[0]).toMatchObject({ delta: {}, finish_reason: finish });
    const content = chunks.map((chunk) => chunk.choices[0].delta.content ?? '').join('');
    if ('stop' in extra) {
      expect(content).not.toContain('e');
      expect(server.engine.stats().tokensGenerated).toBeLessThan(50);
    }
    expect(
      await metric(server.url, 'andon_cancellations_total', {
        tier: 'frontend',
        reason: 'disconnect',
      }),
    ).toBe(0);
  });
});

describe('client disconnects', () => {
  it('a raw socket that disconnects mid-stream kills the request in the engine (499)', async () => {
    const server = await app();
    const raw = new RawRequest(
      server.url,
      'POST',
      '/v1/completions',
      JSON.stringify({
        model: 'andon-sim',
        prompt: 'go',
        stream: true,
        max_tokens: 4000,
      }),
      { 'x-request-id': 'raw-socket-1' },
    );
    await raw.until((text) => (text.match(/^data: /gm) ?? []).length >= 3, 'three SSE events');
    expect(raw.received).toMatch(/^HTTP\/1\.1 200/);
    expect(raw.received).toMatch(/x-request-id: raw-socket-1/i);
    raw.destroy();
    await waitFor(
      () => server.engine.stats().slotsBusy === 0,
      'the engine slot to be freed',
      2_000,
    );
    await waitFor(() => server.server.inFlight === 0, 'the request to end');
    expect(server.engine.stats().cancelled).toEqual({ disconnect: 1 });
    expect(
      await metric(server.url, 'andon_cancellations_total', {
        tier: 'frontend',
        reason: 'disconnect',
      }),
    ).toBe(1);
    expect(server.logs.find((l) => l.reqId === 'raw-socket-1')).toMatchObject({ status: 499 });
  });

  it('a client that leaves while its request waits in the queue frees its queue place', async () => {
    const server = await app({ engine: { slots: 1, maxQueue: 4 } });
    const holder = new RawRequest(
      server.url,
      'POST',
      '/v1/completions',
      JSON.stringify({ model: 'andon-sim', prompt: 'a', stream: true, max_tokens: 4000 }),
    );
    await holder.until((text) => text.includes('data: '), 'the first stream to start');
    const waiter = new RawRequest(
      server.url,
      'POST',
      '/v1/completions',
      JSON.stringify({ model: 'andon-sim', prompt: 'b', max_tokens: 10 }),
    );
    await waitFor(() => server.engine.stats().queueLength === 1, 'the second request to queue');
    waiter.destroy();
    await waitFor(() => server.engine.stats().queueLength === 0, 'the queue place to be freed');
    expect(server.engine.stats().slotsBusy).toBe(1);
    holder.destroy();
    await waitFor(
      () => server.engine.stats().slotsBusy === 0 && server.server.inFlight === 0,
      'everything to end',
    );
    expect(server.engine.stats().cancelled).toEqual({ disconnect: 2 });
  });

  it('a backend that ignores its context cannot hang the request: the front end stops pulling', async () => {
    let returned = false;
    let seenContext: Context | undefined;
    const backend: CompletionBackend = {
      async generate(_request, { context }) {
        seenContext = context;
        return {
          [Symbol.asyncIterator]: () => ({
            next: () => new Promise<IteratorResult<EngineChunk>>(() => {}),
            return: async () => {
              returned = true;
              return { value: undefined, done: true };
            },
          }),
        };
      },
    };
    const { server } = await serverWith(backend);
    const raw = new RawRequest(
      server.url!,
      'POST',
      '/v1/chat/completions',
      JSON.stringify(chatBody({ stream: true })),
      { 'x-request-id': 'stuck-1' },
    );
    await waitFor(() => seenContext !== undefined, 'the backend to be called');
    expect(seenContext?.id).toBe('stuck-1');
    raw.destroy();
    await waitFor(
      () => server.inFlight === 0 && returned,
      'the request to end and the backend to be released',
    );
    expect(seenContext!.reason).toMatchObject({ kind: 'disconnect' });
  });
});

describe('heartbeats and request ids', () => {
  it('an idle stream gets SSE comment heartbeats', async () => {
    const server = await app({ heartbeatMs: 20, engine: { prefillBaseMs: 300 } });
    const raw = new RawRequest(
      server.url,
      'POST',
      '/v1/chat/completions',
      JSON.stringify(chatBody({ stream: true, max_tokens: 2 })),
    );
    cleanups.push(() => raw.destroy());
    await raw.until(
      (text) => text.includes(': keep-alive\n\n'),
      'a heartbeat before the first token',
      2_000,
    );
    expect(raw.dataEvents()).toHaveLength(0);
    await raw.until((text) => text.includes('data: [DONE]'), 'the end of the stream');
  });

  it('honours x-request-id, echoes it on every response, and makes one up when absent', async () => {
    const server = await app();
    const given = await post(server.url, '/v1/chat/completions', chatBody({ max_tokens: 2 }), {
      'x-request-id': 'my-id-42',
    });
    expect(given.headers.get('x-request-id')).toBe('my-id-42');
    const failed = await post(server.url, '/v1/chat/completions', '{', {
      'x-request-id': 'bad-json-7',
    });
    expect(failed.headers.get('x-request-id')).toBe('bad-json-7');
    const missing = await fetch(`${server.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const line = server.logs.find((l) => l.reqId === 'my-id-42' && l.msg === 'request');
    expect(line).toMatchObject({
      status: 200,
      endpoint: '/v1/chat/completions',
      finishReason: 'length',
      completionTokens: 2,
    });
    expect(server.logs.find((l) => l.reqId === 'bad-json-7')).toMatchObject({ status: 400 });
  });
});

describe('bad input gets an OpenAI-style 4xx that says what is wrong', () => {
  const cases: [string, string, unknown, number, string | null, RegExp][] = [
    ['malformed JSON', '/v1/chat/completions', '{"model": ', 400, null, /parse the JSON body/],
    ['an empty body', '/v1/chat/completions', '', 400, null, /empty/],
    ['a body that is not an object', '/v1/chat/completions', '[1,2]', 400, null, /JSON object/],
    [
      'missing messages',
      '/v1/chat/completions',
      { model: 'andon-sim' },
      400,
      'messages',
      /messages/,
    ],
    [
      'empty messages',
      '/v1/chat/completions',
      { model: 'andon-sim', messages: [] },
      400,
      'messages',
      /at least one/,
    ],
    [
      'messages not an array',
      '/v1/chat/completions',
      { model: 'andon-sim', messages: 'hi' },
      400,
      'messages',
      /array/,
    ],
    [
      'a message with a bad role',
      '/v1/chat/completions',
      chatBody({ messages: [{ role: 'robot', content: 'x' }] }),
      400,
      'messages[0].role',
      /role/,
    ],
    [
      'missing model',
      '/v1/chat/completions',
      { messages: [{ role: 'user', content: 'x' }] },
      400,
      'model',
      /model/,
    ],
    [
      'an unknown model',
      '/v1/chat/completions',
      chatBody({ model: 'gpt-9' }),
      404,
      'model',
      /gpt-9.*does not exist/,
    ],
    [
      'max_tokens 0',
      '/v1/chat/completions',
      chatBody({ max_tokens: 0 }),
      400,
      'max_tokens',
      /between 1 and 4096/,
    ],
    [
      'max_tokens too large',
      '/v1/chat/completions',
      chatBody({ max_tokens: 100_000 }),
      400,
      'max_tokens',
      /between 1 and 4096/,
    ],
    [
      'max_tokens not an integer',
      '/v1/completions',
      { model: 'andon-sim', prompt: 'x', max_tokens: 1.5 },
      400,
      'max_tokens',
      /integer/,
    ],
    [
      'max_completion_tokens out of range',
      '/v1/chat/completions',
      chatBody({ max_completion_tokens: -1 }),
      400,
      'max_completion_tokens',
      /between/,
    ],
    [
      'stream not a boolean',
      '/v1/chat/completions',
      chatBody({ stream: 'yes' }),
      400,
      'stream',
      /boolean/,
    ],
    [
      'stream_options without stream',
      '/v1/chat/completions',
      chatBody({ stream_options: { include_usage: true } }),
      400,
      'stream_options',
      /only allowed when stream/,
    ],
    [
      'too many stop strings',
      '/v1/chat/completions',
      chatBody({ stop: ['a', 'b', 'c', 'd', 'e'] }),
      400,
      'stop',
      /at most 4/,
    ],
    ['n > 1', '/v1/chat/completions', chatBody({ n: 2 }), 400, 'n', /n = 1/],
    ['missing prompt', '/v1/completions', { model: 'andon-sim' }, 400, 'prompt', /prompt/],
  ];
  it.each(cases)('%s', async (_name, path, body, status, param, message) => {
    const server = await app();
    const response = await post(server.url, path, body);
    expect(response.status).toBe(status);
    const json = (await response.json()) as {
      error: { message: string; type: string; param: string | null };
    };
    expect(json.error.param).toBe(param);
    expect(json.error.message).toMatch(message);
    expect(json.error.type).toBe(status === 404 ? 'not_found_error' : 'invalid_request_error');
    expect(server.engine.stats().sequencesStarted).toBe(0);
    expect(
      await metric(server.url, 'andon_http_requests_total', {
        endpoint: path,
        status: String(status),
      }),
    ).toBe(1);
  });

  it('a body over the size limit gets 413, declared or chunked', async () => {
    const server = await app({ maxBodyBytes: 1_000 });
    const big = JSON.stringify(
      chatBody({ messages: [{ role: 'user', content: 'x'.repeat(5_000) }] }),
    );
    const declared = await post(server.url, '/v1/chat/completions', big);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe(
      'request_too_large',
    );
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++)
          controller.enqueue(new TextEncoder().encode(big.slice(i * 600, (i + 1) * 600)));
        controller.close();
      },
    });
    const chunked = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
  });

  it('keeps web pages out: no JSON content-type 415, a CORS preflight grants nothing, a foreign Host 421', async () => {
    const server = await app();
    const body = JSON.stringify(chatBody({ max_tokens: 2 }));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', '']) {
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: type === '' ? {} : { 'content-type': type },
        body,
      });
      expect(response.status, type).toBe(415);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(
        /content-type: application\/json/,
      );
    }
    const preflight = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const rebound = new RawRequest(server.url, 'POST', '/v1/chat/completions', body, {
      host: 'evil.example:8000',
    });
    await rebound.until((text) => text.includes('\r\n\r\n{'), 'the answer');
    expect(rebound.received).toMatch(/^HTTP\/1\.1 421 /);
    expect(rebound.received).toMatch(/answers only requests addressed to it/);
    rebound.destroy();
    const named = await fetch(`${server.url.replace('127.0.0.1', 'localhost')}/v1/models`);
    expect(named.status).toBe(200);
  });

  it('wrong methods and unknown paths', async () => {
    const server = await app();
    const wrong = await fetch(`${server.url}/v1/chat/completions`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect((await fetch(`${server.url}/v2/anything`)).status).toBe(404);
  });

  it('the SDK turns them into its typed errors', async () => {
    const server = await app();
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await expect(
      client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      client.chat.completions.create({ model: 'andon-sim', messages: [] }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });
});

describe('backend failures are answered, never hung', () => {
  const failing = (error: unknown): CompletionBackend => ({
    generate: async () => {
      throw error;
    },
  });

  it.each([
    ['queue full (Overloaded)', 'overloaded', 503],
    ['no worker (NoInstances)', 'no_instances', 503],
  ])('%s before streaming gives a plain HTTP error', async (_name, code, status) => {
    const error =
      code === 'no_instances' ? new NoInstances('nobody serves andon/engine/generate') : undefined;
    if (error) {
      const { url } = await serverWith(failing(error));
      const response = await post(url, '/v1/chat/completions', chatBody({ stream: true }));
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
      return;
    }
    // The real engine, full: one slot busy, no queue.
    const server = await app({ engine: { slots: 1, maxQueue: 0 } });
    const holder = new RawRequest(
      server.url,
      'POST',
      '/v1/completions',
      JSON.stringify({ model: 'andon-sim', prompt: 'a', stream: true, max_tokens: 4000 }),
    );
    cleanups.push(() => holder.destroy());
    await holder.until((text) => text.includes('data: '), 'the first stream to start');
    const response = await post(server.url, '/v1/chat/completions', chatBody({ stream: true }));
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code, message: expect.stringMatching(/at capacity/) });
  });

  it('an error on the first read (as the runtime reports a remote Overloaded) still gets its HTTP status', async () => {
    const backend: CompletionBackend = {
      async generate() {
        return (async function* (): AsyncGenerator<EngineChunk> {
          await new Promise((resolve) => setTimeout(resolve, 5));
          throw new NoInstances('andon/engine/generate has no instances');
        })();
      },
    };
    const { url } = await serverWith(backend);
    const response = await post(url, '/v1/chat/completions', chatBody({ stream: true }));
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'no_instances',
    );
  });

  it('a failure after streaming started becomes an SSE error event the SDK raises, without [DONE]', async () => {
    const backend: CompletionBackend = {
      async generate() {
        return (async function* () {
          yield { text: 'Hello', tokens: 1 };
          throw new BackendError('GPU fell off the bus', { tier: 'worker-1' });
        })();
      },
    };
    const { url, logs } = await serverWith(backend);
    const raw = await (await post(url, '/v1/chat/completions', chatBody({ stream: true }))).text();
    expect(raw).toMatch(/^event: error\ndata: .*GPU fell off the bus/m);
    expect(raw).not.toContain('[DONE]');
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      ...chatBody(),
      model: 'andon-sim',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const read = async () => {
      for await (const _chunk of stream) {
        // reading until the error
      }
    };
    await expect(read()).rejects.toThrow(/GPU fell off the bus/);
    // The client got a 200 and then the error event: the log says both.
    expect(logs.find((l) => l.msg === 'stream failed after its headers')).toMatchObject({
      status: 200,
      streamError: { status: 500, code: 'backend_error' },
    });
  });

  it('a backend stream that ends without a finish reason is reported as truncated, not complete', async () => {
    const backend: CompletionBackend = {
      async generate() {
        return (async function* () {
          yield { text: 'partial', tokens: 1 };
        })();
      },
    };
    const { url } = await serverWith(backend);
    const streamed = await (
      await post(url, '/v1/chat/completions', chatBody({ stream: true }))
    ).text();
    expect(streamed).toMatch(/event: error\ndata: .*truncated_stream/);
    expect(streamed).not.toContain('[DONE]');
    const whole = await post(url, '/v1/chat/completions', chatBody());
    expect(whole.status).toBe(502);
  });
});

describe('metrics and shutdown', () => {
  it('/metrics shows the in-flight gauge and engine gauges during a stream; /health and /live answer', async () => {
    const server = await app();
    const raw = new RawRequest(
      server.url,
      'POST',
      '/v1/completions',
      JSON.stringify({ model: 'andon-sim', prompt: 'a', stream: true, max_tokens: 4000 }),
    );
    cleanups.push(() => raw.destroy());
    await raw.until((text) => text.includes('data: '), 'the stream to start');
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/andon_http_requests_in_flight\{endpoint="\/v1\/completions"\} 1/);
    expect(text).toMatch(/andon_engine_slots_busy 1/);
    expect(text).toMatch(/andon_engine_slots 2/);
    expect(text).toMatch(/andon_engine_tokens_generated_total [1-9]/);
    expect(await (await fetch(`${server.url}/health`)).json()).toMatchObject({ status: 'ok' });
    expect(await (await fetch(`${server.url}/live`)).json()).toEqual({ status: 'live' });
  });

  it('close() ends in-flight streams with kind shutdown, closes keep-alive sockets and stops listening', async () => {
    const server = await startApp();
    const raw = new RawRequest(
      server.url,
      'POST',
      '/v1/chat/completions',
      JSON.stringify(chatBody({ stream: true, max_tokens: 4000 })),
    );
    await raw.until((text) => text.includes('data: '), 'the stream to start');
    const idle = new RawRequest(server.url, 'GET', '/live');
    await idle.until((text) => text.includes('"live"'), 'the keep-alive response');
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1_500);
    await waitFor(() => raw.closed && idle.closed, 'both sockets to be closed');
    expect(raw.received).toMatch(/event: error\ndata: .*shutting down/);
    expect(raw.received).not.toContain('[DONE]');
    expect(server.engine.stats()).toMatchObject({ slotsBusy: 0, cancelled: { shutdown: 1 } });
    expect(server.logs.find((l) => l.msg === 'request cancelled')).toMatchObject({
      status: 503,
      cancelled: { kind: 'shutdown' },
    });
    await expect(fetch(`${server.url}/live`)).rejects.toThrow();
    await expect(server.listen()).rejects.toThrow(/closed/);
  });
});
