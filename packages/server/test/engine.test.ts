import { Context, isCancelledError } from '@andon/context';
import { Overloaded } from '@andon/runtime';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { type EngineChunk, type EngineRequest, SimulatedEngine } from '../src/index.js';

const request = (extra: Partial<EngineRequest> = {}): EngineRequest => ({
  model: 'andon-sim',
  prompt: 'hello there',
  maxTokens: 12,
  ...extra,
});

const fast = { tokenMs: 2, prefillBaseMs: 0, prefillMsPerToken: 0 };

async function collect(stream: AsyncIterable<EngineChunk>): Promise<EngineChunk[]> {
  const chunks: EngineChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const textOf = (chunks: EngineChunk[]) => chunks.map((chunk) => chunk.text).join('');

describe('SimulatedEngine', () => {
  it('ends at max_tokens with finish reason length, usage and a deterministic text', async () => {
    const engine = new SimulatedEngine(fast);
    const first = await collect(
      await engine.generate(request({ seed: 7 }), { context: new Context() }),
    );
    const again = await collect(
      await engine.generate(request({ seed: 7 }), { context: new Context() }),
    );
    const last = first.at(-1)!;
    expect(last.finishReason).toBe('length');
    expect(last.usage).toEqual({ promptTokens: 2, completionTokens: 12 });
    expect(first.slice(0, -1).every((chunk) => chunk.finishReason === undefined)).toBe(true);
    expect(first.reduce((sum, chunk) => sum + chunk.tokens, 0)).toBe(12);
    expect(textOf(first).split(' ')).toHaveLength(12);
    expect(textOf(again)).toBe(textOf(first));
    const other = await collect(
      await engine.generate(request({ seed: 8 }), { context: new Context() }),
    );
    expect(textOf(other)).not.toBe(textOf(first));
    expect(engine.stats()).toMatchObject({
      tokensGenerated: 36,
      slotsBusy: 0,
      sequencesFinished: 3,
    });
  });

  it('ends at a stop string (even one split across tokens) with finish reason stop, never sending it', async () => {
    const engine = new SimulatedEngine(fast);
    const full = textOf(
      await collect(
        await engine.generate(request({ seed: 3, maxTokens: 30 }), { context: new Context() }),
      ),
    );
    // A stop string that starts in the middle of one word and ends in the next.
    const words = full.split(' ');
    const stop = `${words[4]!.slice(1)} ${words[5]!.slice(0, 2)}`;
    const chunks = await collect(
      await engine.generate(request({ seed: 3, maxTokens: 30, stop: [stop] }), {
        context: new Context(),
      }),
    );
    const text = textOf(chunks);
    expect(chunks.at(-1)!.finishReason).toBe('stop');
    expect(text).toBe(full.slice(0, full.indexOf(stop)));
    expect(text).not.toContain(stop);
    expect(chunks.at(-1)!.usage!.completionTokens).toBe(6);
  });

  it('ends by itself (finish reason stop) at its natural length', async () => {
    const engine = new SimulatedEngine({ ...fast, naturalLength: { min: 5, max: 5 } });
    const chunks = await collect(
      await engine.generate(request({ maxTokens: 100 }), { context: new Context() }),
    );
    expect(chunks.at(-1)).toMatchObject({ finishReason: 'stop', usage: { completionTokens: 5 } });
  });

  it('queues beyond its slots in FIFO order and refuses with Overloaded when the queue is full', async () => {
    const engine = new SimulatedEngine({ ...fast, slots: 1, maxQueue: 2 });
    const order: number[] = [];
    const runs = [0, 1, 2].map(async (index) => {
      const stream = await engine.generate(request({ maxTokens: 3 }), { context: new Context() });
      await collect(stream);
      order.push(index);
    });
    await waitFor(() => engine.stats().queueLength === 2, 'two queued requests');
    expect(engine.stats().slotsBusy).toBe(1);
    const refused = engine.generate(request(), { context: new Context() });
    await expect(refused).rejects.toBeInstanceOf(Overloaded);
    await expect(refused).rejects.toThrow(/1 slots busy and 2 requests queued/);
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2]);
    expect(engine.stats().sequencesRejected).toBe(1);
  });

  for (const phase of ['queued', 'prefill', 'decode'] as const) {
    it(`a kill while ${phase} aborts the sequence at once and hands the slot to the next request`, async () => {
      // In the prefill case the victim's long prompt takes 10 s to prefill; the next one's, 50 ms.
      const engine = new SimulatedEngine({
        slots: 1,
        tokenMs: 5,
        prefillBaseMs: 0,
        prefillMsPerToken: phase === 'prefill' ? 50 : 0,
      });
      const events: string[] = [];
      engine.on((event) =>
        events.push(`${event.type}:${event.type === 'cancelled' ? event.phase : ''}`),
      );
      const blocker = new Context();
      const victim = new Context();
      if (phase === 'queued')
        await engine.generate(request({ maxTokens: 10_000 }), { context: blocker });
      const stream = await engine.generate(
        request({ maxTokens: 10_000, prompt: 'word '.repeat(200) }),
        { context: victim },
      );
      const reading = collect(stream);
      if (phase === 'decode')
        await waitFor(() => engine.stats().tokensGenerated >= 3, 'a few tokens');
      expect(engine.stats().slotsBusy + engine.stats().queueLength).toBe(
        phase === 'queued' ? 2 : 1,
      );
      const next = await engine.generate(request({ maxTokens: 2 }), { context: new Context() });

      victim.kill({ kind: 'disconnect' });

      // Synchronously: the stop reached the engine through onStop, not at the next tick.
      expect(engine.stats().cancelled).toEqual({ disconnect: 1 });
      expect(events).toContain(`cancelled:${phase}`);
      const error = await reading.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isCancelledError(error) && error.reason.kind).toBe('disconnect');
      // In the queue case the blocker still holds the slot: release it too.
      if (phase === 'queued') blocker.kill();
      // The freed slot goes to the request behind, which runs to its end.
      expect((await collect(next)).at(-1)?.finishReason).toBe('length');
      blocker.kill();
      expect(engine.stats().tokensAfterCancel).toBe(0);
      expect(engine.stats()).toMatchObject({ slotsBusy: 0, queueLength: 0 });
    });
  }

  it('a graceful stop delivers the text already generated, then throws CancelledError', async () => {
    const engine = new SimulatedEngine({ ...fast, tokenMs: 3 });
    const context = new Context();
    const stream = await engine.generate(request({ maxTokens: 10_000 }), { context });
    await waitFor(() => engine.stats().tokensGenerated >= 3, 'a few tokens');
    context.stop();
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(first.value!.tokens).toBeGreaterThanOrEqual(3);
    await expect(iterator.next()).rejects.toMatchObject({ reason: { kind: 'stop' } });
  });

  it('a reader that leaves the loop early frees the slot; a stopped context never starts', async () => {
    const engine = new SimulatedEngine({ ...fast, slots: 1 });
    const context = new Context();
    for await (const chunk of await engine.generate(request({ maxTokens: 10_000 }), { context })) {
      expect(chunk.text.length).toBeGreaterThan(0);
      break;
    }
    expect(engine.stats()).toMatchObject({ slotsBusy: 0, cancelled: { kill: 1 } });
    const stopped = new Context();
    stopped.stop();
    await expect(
      collect(await engine.generate(request(), { context: stopped })),
    ).rejects.toMatchObject({
      reason: { kind: 'stop' },
    });
    expect(engine.stats().sequencesStarted).toBe(1);
  });

  it('close() aborts everything with kind shutdown and refuses new work', async () => {
    const engine = new SimulatedEngine({ ...fast, slots: 1 });
    const running = collect(
      await engine.generate(request({ maxTokens: 10_000 }), { context: new Context() }),
    );
    const queued = collect(
      await engine.generate(request({ maxTokens: 10_000 }), { context: new Context() }),
    );
    engine.close();
    await expect(running).rejects.toMatchObject({ reason: { kind: 'shutdown' } });
    await expect(queued).rejects.toMatchObject({ reason: { kind: 'shutdown' } });
    await expect(engine.generate(request(), { context: new Context() })).rejects.toBeInstanceOf(
      Overloaded,
    );
    expect(engine.stats()).toMatchObject({
      slotsBusy: 0,
      queueLength: 0,
      cancelled: { shutdown: 2 },
    });
  });

  it('rejects malformed requests and options with errors that name the field', async () => {
    const engine = new SimulatedEngine();
    await expect(
      engine.generate({ model: 'm', prompt: 'p', maxTokens: 0 }, { context: new Context() }),
    ).rejects.toThrow(/maxTokens/);
    await expect(
      engine.generate({ model: 'm', prompt: 1 } as never, { context: new Context() }),
    ).rejects.toThrow(/prompt/);
    expect(() => new SimulatedEngine({ slots: 0 })).toThrow(/slots/);
    expect(() => new SimulatedEngine({ naturalLength: { min: 5, max: 2 } })).toThrow(
      /naturalLength/,
    );
  });

  it('refuses bad options with a TypeError naming the option and the value it got', () => {
    for (const [options, message] of [
      [{ slots: 0 }, 'SimulatedEngine: slots must be an integer >= 1, got 0'],
      [{ slots: 1.5 }, 'SimulatedEngine: slots must be an integer >= 1, got 1.5'],
      [{ maxQueue: -1 }, 'SimulatedEngine: maxQueue must be an integer >= 0, got -1'],
      [{ tokenMs: '20' }, 'SimulatedEngine: tokenMs must be a finite number >= 0, got "20"'],
      [
        { prefillBaseMs: Number.NaN },
        'SimulatedEngine: prefillBaseMs must be a finite number >= 0, got NaN',
      ],
      [
        { naturalLength: { min: 5, max: 2 } },
        'SimulatedEngine: naturalLength.max must be >= naturalLength.min (5), got 2',
      ],
      [{ maxUnreadTokens: 0 }, 'SimulatedEngine: maxUnreadTokens must be an integer >= 1, got 0'],
    ] as const) {
      const attempt = () => new SimulatedEngine(options as never);
      expect(attempt).toThrow(TypeError);
      expect(attempt).toThrow(message);
    }
  });

  it('prefill takes longer for longer prompts', async () => {
    const engine = new SimulatedEngine({ tokenMs: 0, prefillBaseMs: 0, prefillMsPerToken: 1 });
    const timeToFirst = async (prompt: string) => {
      const started = performance.now();
      const iterator = (await engine.generate(request({ prompt }), { context: new Context() }))[
        Symbol.asyncIterator
      ]();
      await iterator.next();
      const elapsed = performance.now() - started;
      await iterator.return?.();
      return elapsed;
    };
    const short = await timeToFirst('hi');
    const long = await timeToFirst('word '.repeat(150));
    expect(long).toBeGreaterThanOrEqual(140);
    expect(short).toBeLessThan(long);
  });
});
