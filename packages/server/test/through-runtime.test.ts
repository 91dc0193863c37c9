import { Context } from '@andon/context';
import { type Client, MemoryDiscovery, MemoryDiscoveryHub, Runtime } from '@andon/runtime';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import {
  type CompletionBackend,
  type EngineChunk,
  type EngineLimits,
  type EngineRequest,
  engineHandler,
  OpenAIServer,
  ServerMetrics,
  SimulatedEngine,
} from '../src/index.js';
import { LogCapture, metric } from './helpers.js';

// The seam in use: the runtime's client is the front end's backend, unchanged. Each tier is
// its own Runtime on TCP (one process, isolated discovery), so every hop crosses the wire.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function runtime(hub: MemoryDiscoveryHub): Promise<Runtime> {
  const rt = await Runtime.start({
    transport: 'tcp',
    discovery: new MemoryDiscovery({ hub }),
    logger: pino({ level: 'silent' }),
  });
  cleanups.push(() => rt.shutdown({ graceMs: 100 }));
  return rt;
}

/** A worker: its own runtime, serving `engine` at andon/engine/generate. */
async function serveEngine(
  hub: MemoryDiscoveryHub,
  engine: SimulatedEngine,
  limits?: EngineLimits,
): Promise<void> {
  const worker = await runtime(hub);
  await worker
    .namespace('andon')
    .component('engine')
    .endpoint('generate')
    .serve(engineHandler(engine, limits));
}

async function client(rt: Runtime, component: string): Promise<Client<EngineRequest, EngineChunk>> {
  const made = (await rt
    .namespace('andon')
    .component(component)
    .endpoint('generate')
    .client()) as Client<EngineRequest, EngineChunk>;
  await made.waitForInstances({ timeoutMs: 5_000 });
  return made;
}

async function setUp(withMiddle: boolean) {
  const hub = new MemoryDiscoveryHub();
  const engine = new SimulatedEngine({
    slots: 2,
    tokenMs: 5,
    prefillBaseMs: 1,
    prefillMsPerToken: 0,
  });
  cleanups.push(() => engine.close());
  await serveEngine(hub, engine);
  let target = 'engine';
  if (withMiddle) {
    const middle = await runtime(hub);
    const toEngine = await client(middle, 'engine');
    // A router passes its incoming context on, and that is all it does for cancellation.
    await middle
      .namespace('andon')
      .component('router')
      .endpoint('generate')
      .serve(async function* (request, context) {
        yield* await toEngine.generate(request as EngineRequest, { context });
      });
    target = 'router';
  }
  const frontRuntime = await runtime(hub);
  // The type check is the point: a runtime Client is a CompletionBackend as it is.
  const backend: CompletionBackend = await client(frontRuntime, target);
  const metrics = new ServerMetrics();
  metrics.observeEngine(engine);
  const logs = new LogCapture();
  const server = new OpenAIServer({ backend, metrics, logger: logs.logger });
  const url = await server.listen();
  cleanups.push(() => server.close());
  return { engine, server, url, logs };
}

describe('front end → runtime (TCP) → engine', () => {
  for (const withMiddle of [false, true]) {
    const path = withMiddle ? 'front end → middle router → worker' : 'front end → worker';
    it(`${path}: a completed stream is intact; an aborted one stops the engine with kind disconnect`, async () => {
      const { engine, server, url } = await setUp(withMiddle);
      const sdk = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const complete = await sdk.chat.completions.create({
        model: 'andon-sim',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        max_tokens: 15,
        seed: 5,
      });
      let text = '';
      let finish: string | null = null;
      for await (const chunk of complete) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      let expected = '';
      const direct = new SimulatedEngine({ tokenMs: 0, prefillBaseMs: 0 });
      for await (const chunk of await direct.generate(
        { model: 'andon-sim', prompt: 'x', maxTokens: 15, seed: 5 },
        { context: new Context() },
      )) {
        expected += chunk.text;
      }
      expect(finish).toBe('length');
      expect(text).toBe(expected);
      expect(engine.stats().cancelled).toEqual({});

      const aborted = await sdk.chat.completions.create({
        model: 'andon-sim',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        max_tokens: 4000,
      });
      let received = 0;
      for await (const _chunk of aborted) {
        if (++received === 5) aborted.controller.abort();
      }
      await waitFor(() => engine.stats().slotsBusy === 0, 'the worker slot to be freed', 3_000);
      expect(engine.stats().cancelled).toEqual({ disconnect: 1 });
      await waitFor(() => server.inFlight === 0, 'the front end to finish');
      expect(
        await metric(url, 'andon_cancellations_total', { tier: 'frontend', reason: 'disconnect' }),
      ).toBe(1);
      expect(
        await metric(url, 'andon_cancellations_total', { tier: 'engine', reason: 'disconnect' }),
      ).toBe(1);
      // Not a sleep: a later request runs to its end through the same worker, and the only
      // tokens generated meanwhile must be its own.
      const generated = engine.stats().tokensGenerated;
      const later = await sdk.chat.completions.create({
        model: 'andon-sim',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 12,
      });
      expect(engine.stats().tokensGenerated).toBe(generated + later.usage!.completion_tokens);
      expect(engine.stats().tokensAfterCancel).toBe(0);
    });
  }
});

describe('a worker checks what reaches it, whoever the caller', () => {
  it('refuses a raw call over its limits (maxTokens 1e9, a huge prompt, many stop strings) without taking a slot', async () => {
    const hub = new MemoryDiscoveryHub();
    const engine = new SimulatedEngine({ slots: 1, tokenMs: 5 });
    cleanups.push(() => engine.close());
    await serveEngine(hub, engine, { maxTokens: 64, maxPromptChars: 100 });
    const caller = await client(await runtime(hub), 'engine');
    const base = { model: 'andon-sim', prompt: 'hi', maxTokens: 8 };
    for (const [request, message] of [
      [{ ...base, maxTokens: 1e9 }, /maxTokens must be an integer from 1 to 64, got 1000000000/],
      [
        { ...base, prompt: 'x'.repeat(101) },
        /prompt is 101 characters; this worker takes at most 100/,
      ],
      [{ ...base, stop: ['a', 'b', 'c', 'd', 'e'] }, /stop may hold at most 4 strings/],
    ] as const) {
      const stream = await caller.generate(request as EngineRequest);
      await expect(
        (async () => {
          for await (const _ of stream);
        })(),
      ).rejects.toMatchObject({ name: 'BackendError', message: expect.stringMatching(message) });
      expect(engine.stats().sequencesStarted).toBe(0);
    }
    // Within the limits, the one slot serves.
    const chunks: EngineChunk[] = [];
    for await (const chunk of await caller.generate(base)) chunks.push(chunk);
    expect(chunks.at(-1)?.finishReason).toBe('length');
  });

  it('rejects limits that are not whole numbers >= 1, naming them', () => {
    const engine = new SimulatedEngine({ slots: 1 });
    cleanups.push(() => engine.close());
    expect(() => engineHandler(engine, { maxTokens: 0 })).toThrow(
      /engine limits: maxTokens must be an integer >= 1, got 0/,
    );
  });
});
