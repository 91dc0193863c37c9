import { MemoryDiscovery, MemoryDiscoveryHub, Runtime } from '@andon/runtime';
import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeMarker } from '../../../test/support/engine.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  ApiKeys,
  type CompletionBackend,
  engineHandler,
  OpenAIServer,
  ServerMetrics,
  SimulatedEngine,
} from '../src/index.js';
import { LogCapture, metric, startApp } from './helpers.js';

// POST /v1/requests/{id}/pause and /resume: the generation itself pauses (bounded buffers on
// every hop), resumes where it was, and a paused request still stops at once.

const MAX_UNREAD = 16;
const WINDOW = 8; // the front end's per-call credit window (completions.ts)
const engineOptions = {
  maxUnreadTokens: MAX_UNREAD,
  // Nothing ends by itself before max_tokens.
  naturalLength: { min: 10_000, max: 10_000 },
};
const messages = [{ role: 'user' as const, content: 'Tell me about cancellation.' }];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sdk = (url: string, apiKey = 'unused') =>
  new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 20_000 });

function control(url: string, id: string, action: 'pause' | 'resume', key?: string) {
  return fetch(`${url}/v1/requests/${encodeURIComponent(id)}/${action}`, {
    method: 'POST',
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
}

async function open(url: string, id: string, maxTokens: number, apiKey?: string) {
  const stream = await sdk(url, apiKey).chat.completions.create(
    { model: 'andon-sim', stream: true, max_tokens: maxTokens, messages },
    { headers: { 'x-request-id': id } },
  );
  return { stream, iterator: stream[Symbol.asyncIterator]() };
}

async function readText(iterator: AsyncIterator<ChatCompletionChunk>, chunks?: number) {
  let text = '';
  let finish: string | null | undefined;
  for (let i = 0; chunks === undefined || i < chunks; i++) {
    const next = await iterator.next();
    if (next.done) break;
    text += next.value.choices[0]?.delta.content ?? '';
    finish = next.value.choices[0]?.finish_reason ?? finish;
  }
  return { text, finish };
}

describe('pause and resume a streaming completion', () => {
  it('embedded: the engine decodes at most maxUnreadTokens (+1 already asked for) while paused, and resumes where it was', async () => {
    const app = await startApp({ engine: engineOptions });
    cleanups.push(() => app.close());
    const straight = await open(app.url, 'straight', 120);
    const expected = (await readText(straight.iterator)).text;

    const { iterator } = await open(app.url, 'chat-1', 120);
    const before = await readText(iterator, 5);
    const paused = await control(app.url, 'chat-1', 'pause');
    expect(await paused.json()).toEqual({ paused: true });
    const atPause = app.engine.stats().tokensGenerated;
    await waitFor(() => app.engine.stats().sequencesParked === 1, 'the sequence to park');
    // While parked it decodes nothing: the engine's count grows by the marker's tokens only.
    const parkedAt = app.engine.stats().tokensGenerated;
    expect(await decodeMarker(app.engine, 10)).toBe(10);
    expect(app.engine.stats()).toMatchObject({
      tokensGenerated: parkedAt + 10,
      sequencesParked: 1,
    });
    const decoded = parkedAt - atPause;
    expect(decoded).toBeLessThanOrEqual(MAX_UNREAD + 1);
    expect(app.engine.stats().slotsBusy).toBe(1);

    expect(await (await control(app.url, 'chat-1', 'resume')).json()).toEqual({ paused: false });
    const after = await readText(iterator);
    expect(after.finish).toBe('length');
    expect(before.text + after.text).toBe(expected);
    expect(app.engine.stats()).toMatchObject({ slotsBusy: 0, sequencesParked: 0 });
  });

  it('a paused stream still ends at once when the client leaves, and frees its slot', async () => {
    const app = await startApp({ engine: engineOptions });
    cleanups.push(() => app.close());
    const { stream, iterator } = await open(app.url, 'chat-2', 1_000);
    await readText(iterator, 3);
    await control(app.url, 'chat-2', 'pause');
    await waitFor(() => app.engine.stats().sequencesParked === 1, 'the sequence to park');
    stream.controller.abort();
    await waitFor(() => app.engine.stats().slotsBusy === 0, 'the slot to be freed');
    expect(app.engine.stats()).toMatchObject({
      sequencesParked: 0,
      cancelled: { disconnect: 1 },
      tokensAfterCancel: 0,
    });
    expect((await control(app.url, 'chat-2', 'resume')).status).toBe(404);
  });

  it('keeps the SSE heartbeats going while paused', async () => {
    const app = await startApp({ engine: engineOptions, heartbeatMs: 50 });
    cleanups.push(() => app.close());
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'chat-hb' },
      body: JSON.stringify({ model: 'andon-sim', stream: true, max_tokens: 500, messages }),
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let seen = '';
    const until = async (pattern: RegExp, from: number) => {
      while (!pattern.test(seen.slice(from))) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}`);
        seen += decoder.decode(value, { stream: true });
      }
    };
    await until(/data: \{/, 0);
    await control(app.url, 'chat-hb', 'pause');
    await waitFor(() => app.engine.stats().sequencesParked === 1, 'the sequence to park');
    // Chunks decoded before the park may still be on their way; a keep-alive goes out only
    // after heartbeatMs of silence, so everything after the first one was sent while paused.
    await until(/: keep-alive\n\n/, seen.length);
    const mark = seen.lastIndexOf(': keep-alive\n\n') + ': keep-alive\n\n'.length;
    await until(/: keep-alive\n\n[\s\S]*: keep-alive\n\n/, mark);
    expect(seen.slice(mark)).not.toMatch(/data: \{[^\n]*"content":"[^"]/);
    await reader.cancel();
  });

  it('answers 404 for an unknown request id, and 405 for a GET', async () => {
    const app = await startApp();
    cleanups.push(() => app.close());
    const missing = await control(app.url, 'nobody', 'pause');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'request_not_found' } });
    expect((await fetch(`${app.url}/v1/requests/x/pause`)).status).toBe(405);
  });

  it('under API keys only the request’s user or an admin may pause it', async () => {
    const keys = ApiKeys.parse(
      'sk-alice-0123456789abcdef alice\nsk-bob-0123456789abcdef bob\nsk-root-0123456789abcdef root admin\n',
      'keys.txt',
    );
    const app = await startApp({ engine: engineOptions, apiKeys: keys });
    cleanups.push(() => app.close());
    const { stream, iterator } = await open(app.url, 'alice-1', 1_000, 'sk-alice-0123456789abcdef');
    await readText(iterator, 2);
    expect((await control(app.url, 'alice-1', 'pause')).status).toBe(401);
    const bob = await control(app.url, 'alice-1', 'pause', 'sk-bob-0123456789abcdef');
    expect(bob.status).toBe(403);
    expect(await bob.json()).toMatchObject({ error: { type: 'permission_error' } });
    const own = await control(app.url, 'alice-1', 'pause', 'sk-alice-0123456789abcdef');
    expect(await own.json()).toEqual({ paused: true });
    const root = await control(app.url, 'alice-1', 'resume', 'sk-root-0123456789abcdef');
    expect(await root.json()).toEqual({ paused: false });
    stream.controller.abort();
  });

  it('through the runtime: the worker decodes at most window + maxUnreadTokens (+2 in flight) while paused', async () => {
    const hub = new MemoryDiscoveryHub();
    const runtime = async () => {
      const rt = await Runtime.start({
        transport: 'tcp',
        discovery: new MemoryDiscovery({ hub }),
        logger: pino({ level: 'silent' }),
      });
      cleanups.push(() => rt.shutdown({ graceMs: 100 }));
      return rt;
    };
    const engine = new SimulatedEngine({ tokenMs: 5, prefillBaseMs: 1, ...engineOptions });
    cleanups.push(() => engine.close());
    const worker = await runtime();
    await worker
      .namespace('andon')
      .component('engine')
      .endpoint('generate')
      .serve(engineHandler(engine));
    const front = await runtime();
    const client = await front.namespace('andon').component('engine').endpoint('generate').client();
    await client.waitForInstances({ timeoutMs: 5_000 });
    const metrics = new ServerMetrics();
    metrics.observeEngine(engine);
    const server = new OpenAIServer({
      backend: client as unknown as CompletionBackend,
      metrics,
      logger: new LogCapture().logger,
    });
    const url = await server.listen();
    cleanups.push(() => server.close());

    const { iterator } = await open(url, 'remote-1', 200);
    const before = await readText(iterator, 5);
    await control(url, 'remote-1', 'pause');
    const tokens = () => metric(url, 'andon_engine_tokens_generated_total');
    const atPause = await tokens();
    await waitFor(() => engine.stats().sequencesParked === 1, 'the worker to park the sequence');
    // While parked it decodes nothing: the count grows by the marker's tokens only.
    const parkedAt = await tokens();
    expect(await decodeMarker(engine, 30)).toBe(30);
    expect(await tokens()).toBe(parkedAt + 30);
    expect(engine.stats().sequencesParked).toBe(1);
    const decoded = parkedAt - atPause;
    expect(decoded).toBeLessThanOrEqual(WINDOW + MAX_UNREAD + 2);
    await control(url, 'remote-1', 'resume');
    const after = await readText(iterator);
    expect(after.finish).toBe('length');
    expect((before.text + after.text).split(' ').filter(Boolean)).toHaveLength(200);
  });
});
