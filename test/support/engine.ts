import { Context } from '@andon/context';
import type { EngineChunk, EngineRequest } from '@andon/server';

/** What {@link decodeMarker} needs of an engine (a `SimulatedEngine`, in process). */
interface Engine {
  generate(
    request: EngineRequest,
    options: { context: Context },
  ): Promise<AsyncIterable<EngineChunk>>;
}

/**
 * Runs a request of its own through `engine` and reads it to the end; resolves with the
 * tokens it decoded. The ordering event for "the engine decoded nothing else meanwhile":
 * every decode step runs on the engine's `tokenMs` timer, so a sequence that got a step
 * scheduled while the marker ran steps before the marker's later steps do. Then the
 * engine's token count has grown by exactly what the marker returns, however slow the
 * machine, where a fixed sleep would pass if the stray token came late.
 */
export async function decodeMarker(engine: Engine, tokens: number): Promise<number> {
  let decoded = 0;
  const request = { model: 'andon-sim', prompt: 'marker', maxTokens: tokens };
  for await (const chunk of await engine.generate(request, { context: new Context() })) {
    decoded += chunk.tokens;
  }
  return decoded;
}
