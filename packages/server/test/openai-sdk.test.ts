import { Context } from '@andon/context';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { SimulatedEngine } from '../src/index.js';
import { chatBody, metric, startApp, type TestApp } from './helpers.js';

// Driven by the official `openai` SDK: what the front end must get right is what an
// unmodified client relies on.

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const sdk = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });

const cancellations = async (url: string) => ({
  frontend: await metric(url, 'andon_cancellations_total', {
    tier: 'frontend',
    reason: 'disconnect',
  }),
  engine: await metric(url, 'andon_cancellations_total', { tier: 'engine', reason: 'disconnect' }),
});

// After the stop, no more tokens for anyone: every request of the test is gone.
async function expectNoMoreTokens(current: TestApp): Promise<void> {
  // Not a sleep: a later request runs to its end on the same engine, and the only tokens
  // generated meanwhile must be its own. A cancelled sequence still decoding would add more.
  const before = current.engine.stats().tokensGenerated;
  const later = await fetch(`${current.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chatBody({ max_tokens: 12 })),
  });
  expect(later.status).toBe(200);
  const { usage } = (await later.json()) as { usage: { completion_tokens: number } };
  expect(current.engine.stats().tokensGenerated).toBe(before + usage.completion_tokens);
  expect(current.engine.stats().tokensAfterCancel).toBe(0);
  expect(await metric(current.url, 'andon_tokens_after_cancel_total', { tier: 'engine' })).toBe(0);
  expect(await metric(current.url, 'andon_tokens_after_cancel_total', { tier: 'frontend' })).toBe(
    0,
  );
}

describe('front end with the openai SDK', () => {
  for (const how of ['controller.abort()', 'break'] as const) {
    it(`a stream left after 5 chunks with ${how} aborts the engine's sequence and frees its slot`, async () => {
      app = await startApp();
      const client = sdk(app.url);
      const stream = await client.chat.completions.create({
        ...chatBody(),
        model: 'andon-sim',
        messages: [{ role: 'user', content: 'Go on forever.' }],
        stream: true,
        max_tokens: 4000,
      });
      let received = 0;
      for await (const chunk of stream) {
        expect(chunk.object).toBe('chat.completion.chunk');
        received++;
        if (received === 5) {
          expect(app.engine.stats().slotsBusy).toBe(1);
          if (how === 'break') break;
          stream.controller.abort();
        }
      }
      // After abort() the SDK may still yield chunks it had already read (several arrive in
      // one read on a busy machine); what matters is that the loop ends.
      if (how === 'break') expect(received).toBe(5);
      else expect(received).toBeGreaterThanOrEqual(5);
      await waitFor(
        () => app!.engine.stats().slotsBusy === 0,
        'the engine slot to be freed',
        2_000,
      );
      expect(app.engine.stats().cancelled).toEqual({ disconnect: 1 });
      await waitFor(() => app!.server.inFlight === 0, 'the front end to finish the request');
      expect(await cancellations(app.url)).toEqual({ frontend: 1, engine: 1 });
      expect(
        await metric(app.url, 'andon_cancel_to_engine_stop_seconds_count', {
          reason: 'disconnect',
        }),
      ).toBe(1);
      await expectNoMoreTokens(app);
      const line = app.logs.find((l) => l.msg === 'request cancelled');
      expect(line).toMatchObject({ status: 499, cancelled: { kind: 'disconnect' }, stream: true });
      expect(
        await metric(app.url, 'andon_http_requests_total', {
          endpoint: '/v1/chat/completions',
          status: '499',
        }),
      ).toBe(1);
    });
  }

  it('a normal streamed completion counts no cancellation and ends with the finish reason and usage', async () => {
    app = await startApp();
    const stream = await sdk(app.url).chat.completions.create({
      ...chatBody(),
      model: 'andon-sim',
      messages: [{ role: 'user', content: 'Say something short.' }],
      stream: true,
      max_tokens: 20,
      seed: 42,
      stream_options: { include_usage: true },
    });
    let content = '';
    const finishReasons: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    const ids = new Set<string>();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        content += choice.delta.content ?? '';
        finishReasons.push(choice.finish_reason);
      }
    }
    expect(finishReasons.at(-1)).toBe('length');
    expect(finishReasons.slice(0, -1).every((reason) => reason === null)).toBe(true);
    expect(usage).toMatchObject({ completion_tokens: 20, total_tokens: usage!.prompt_tokens + 20 });
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^chatcmpl-/);
    // The same seed straight from an engine gives the same text: nothing lost or reordered.
    const direct = new SimulatedEngine({ tokenMs: 0, prefillBaseMs: 0 });
    let expected = '';
    for await (const chunk of await direct.generate(
      { model: 'andon-sim', prompt: 'x', maxTokens: 20, seed: 42 },
      { context: new Context() },
    )) {
      expected += chunk.text;
    }
    expect(content).toBe(expected);
    expect(await cancellations(app.url)).toEqual({ frontend: 0, engine: 0 });
    expect(
      await metric(app.url, 'andon_http_requests_total', {
        endpoint: '/v1/chat/completions',
        status: '200',
      }),
    ).toBe(1);
  });

  it('non-streaming chat and text completions have the shapes the SDK expects', async () => {
    app = await startApp();
    const client = sdk(app.url);
    const chat = await client.chat.completions.create({
      model: 'andon-sim',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      max_tokens: 8,
      stop: ['never-generated'],
    });
    expect(chat).toMatchObject({
      object: 'chat.completion',
      model: 'andon-sim',
      choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant' } }],
      usage: { completion_tokens: 8 },
    });
    expect(chat.choices[0]!.message.content!.split(' ')).toHaveLength(8);
    const text = await client.completions.create({
      model: 'andon-sim',
      prompt: 'Once upon',
      max_tokens: 5,
    });
    expect(text).toMatchObject({
      object: 'text_completion',
      choices: [{ finish_reason: 'length' }],
    });
    expect(text.id).toMatch(/^cmpl-/);
    const streamed = await client.completions.create({
      model: 'andon-sim',
      prompt: 'Once upon',
      max_tokens: 5,
      stream: true,
    });
    let joined = '';
    for await (const chunk of streamed) joined += chunk.choices[0]?.text ?? '';
    expect(joined).toBe(text.choices[0]!.text);
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(['andon-sim']);
  });

  it('a non-streaming request aborted by an AbortSignal is cancelled in the engine too', async () => {
    app = await startApp();
    const controller = new AbortController();
    const pending = sdk(app.url).chat.completions.create(
      {
        ...chatBody(),
        model: 'andon-sim',
        messages: [{ role: 'user', content: 'long' }],
        max_tokens: 4000,
      },
      { signal: controller.signal, headers: { 'x-request-id': 'abort-me-1' } },
    );
    pending.catch(() => {});
    await waitFor(() => app!.engine.stats().tokensGenerated >= 3, 'the engine to start generating');
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    await waitFor(() => app!.engine.stats().slotsBusy === 0, 'the engine slot to be freed', 2_000);
    await waitFor(() => app!.server.inFlight === 0, 'the front end to finish the request');
    expect(await cancellations(app.url)).toEqual({ frontend: 1, engine: 1 });
    await expectNoMoreTokens(app);
    expect(
      app.logs.find((l) => l.reqId === 'abort-me-1' && l.msg === 'request cancelled'),
    ).toMatchObject({
      status: 499,
      stream: false,
      cancelled: { kind: 'disconnect' },
    });
  });

  it('ten streams, half aborted: the others complete intact and in order', async () => {
    app = await startApp({ engine: { slots: 4, maxQueue: 16, tokenMs: 3 } });
    const client = sdk(app.url);
    const expectedFor = async (seed: number) => {
      const direct = new SimulatedEngine({ tokenMs: 0, prefillBaseMs: 0 });
      let text = '';
      for await (const chunk of await direct.generate(
        { model: 'andon-sim', prompt: 'x', maxTokens: 30, seed },
        { context: new Context() },
      )) {
        text += chunk.text;
      }
      return text;
    };
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, index) => {
        const abort = index % 2 === 1;
        const stream = await client.chat.completions.create({
          model: 'andon-sim',
          messages: [{ role: 'user', content: `stream ${index}` }],
          stream: true,
          max_tokens: abort ? 4000 : 30,
          seed: index,
        });
        let content = '';
        let finish: string | null = null;
        let chunks = 0;
        for await (const chunk of stream) {
          content += chunk.choices[0]?.delta.content ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
          if (abort && ++chunks === 3) stream.controller.abort();
        }
        return { index, abort, content, finish };
      }),
    );
    for (const result of results.filter((r) => !r.abort)) {
      expect(result.finish).toBe('length');
      expect(result.content).toBe(await expectedFor(result.index));
    }
    for (const result of results.filter((r) => r.abort)) expect(result.finish).toBeNull();
    await waitFor(
      () => app!.engine.stats().slotsBusy === 0 && app!.server.inFlight === 0,
      'everything to end',
      5_000,
    );
    expect(app.engine.stats().cancelled).toEqual({ disconnect: 5 });
    expect(app.engine.stats().sequencesFinished).toBe(5);
    expect(await cancellations(app.url)).toEqual({ frontend: 5, engine: 5 });
    await expectNoMoreTokens(app);
  });
});
