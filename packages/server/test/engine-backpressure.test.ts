import { Context } from '@andon/context';
import { describe, expect, it } from 'vitest';
import { decodeMarker } from '../../../test/support/engine.js';
import { waitFor } from '../../../test/support/wait.js';
import { type EngineChunk, type EngineRequest, SimulatedEngine } from '../src/index.js';

// The engine's side of pause: a reader that stops reading parks its sequence after
// `maxUnreadTokens` tokens, and reading again resumes it where it was.

const request = (extra: Partial<EngineRequest> = {}): EngineRequest => ({
  model: 'andon-sim',
  prompt: 'hello there',
  maxTokens: 200,
  seed: 11,
  ...extra,
});

const fast = { tokenMs: 2, prefillBaseMs: 0, prefillMsPerToken: 0 };
// Long enough that nothing ends by itself during a test.
const endless = { naturalLength: { min: 10_000, max: 10_000 } };

describe('SimulatedEngine: bounded unread output', () => {
  it('parks a sequence whose reader has not taken maxUnreadTokens tokens, keeping its slot', async () => {
    const engine = new SimulatedEngine({ ...fast, ...endless, maxUnreadTokens: 8 });
    const stream = await engine.generate(request({ maxTokens: 5_000 }), {
      context: new Context(),
    });
    await waitFor(() => engine.stats().sequencesParked === 1, 'the sequence to park');
    expect(engine.stats()).toMatchObject({ tokensGenerated: 8, slotsBusy: 1 });
    // Parked, it decodes nothing: while 25 marker tokens are decoded, its count stays at 8.
    expect(await decodeMarker(engine, 25)).toBe(25);
    expect(engine.stats()).toMatchObject({ tokensGenerated: 8 + 25, sequencesParked: 1 });

    // Reading resumes it: the eight tokens come as one merged chunk, then decoding goes on.
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ tokens: 8 });
    expect(engine.stats().sequencesParked).toBe(0);
    await waitFor(() => engine.stats().tokensGenerated > 8 + 25, 'decoding to resume');
    await iterator.return?.();
    expect(engine.stats()).toMatchObject({ slotsBusy: 0, sequencesParked: 0 });
    engine.close();
  });

  it('delivers the same text, and the same usage, to a reader that pauses as to one that does not', async () => {
    const engine = new SimulatedEngine({ ...fast, maxUnreadTokens: 4 });
    const read = async (pauseAt: number | undefined) => {
      const chunks: EngineChunk[] = [];
      for await (const chunk of await engine.generate(request({ maxTokens: 40 }), {
        context: new Context(),
      })) {
        chunks.push(chunk);
        if (chunks.length === pauseAt) {
          await waitFor(() => engine.stats().sequencesParked === 1, 'the sequence to park');
        }
      }
      return chunks;
    };
    const straight = await read(undefined);
    const paused = await read(3);
    const text = (chunks: EngineChunk[]) => chunks.map((c) => c.text).join('');
    expect(text(paused)).toBe(text(straight));
    expect(paused.at(-1)).toMatchObject({
      finishReason: 'length',
      usage: { completionTokens: 40 },
    });
    expect(paused.reduce((sum, c) => sum + c.tokens, 0)).toBe(40);
    expect(engine.stats()).toMatchObject({ tokensGenerated: 80, sequencesParked: 0 });
    engine.close();
  });

  it('a stop or a kill of a parked sequence ends it at once and frees its slot', async () => {
    const engine = new SimulatedEngine({ ...fast, ...endless, maxUnreadTokens: 4, slots: 1 });
    for (const how of ['stop', 'kill'] as const) {
      const context = new Context();
      const stream = await engine.generate(request({ maxTokens: 5_000 }), { context });
      await waitFor(() => engine.stats().sequencesParked === 1, 'the sequence to park');
      context[how]('the user pressed stop');
      expect(engine.stats()).toMatchObject({ slotsBusy: 0, sequencesParked: 0 });
      const texts: string[] = [];
      await expect(
        (async () => {
          for await (const chunk of stream) texts.push(chunk.text);
        })(),
      ).rejects.toMatchObject({ reason: { kind: how } });
      // A graceful stop keeps what was generated; a kill drops it.
      expect(texts.length).toBe(how === 'stop' ? 1 : 0);
    }
    expect(engine.stats()).toMatchObject({
      tokensGenerated: 8,
      tokensAfterCancel: 0,
      cancelled: { stop: 1, kill: 1 },
    });
    engine.close();
  });

  it('rejects a maxUnreadTokens below 1', () => {
    expect(() => new SimulatedEngine({ maxUnreadTokens: 0 })).toThrow(/maxUnreadTokens/);
  });
});
