import type { Context } from '@andon/context';
import type { EngineChunk, EngineRequest } from '../backend.js';
import { assertEngineRequest, type EngineLimits, engineLimits } from './validate-request.js';

/** A CompletionBackend-like generator: the engine, or anything with the same method. */
export interface ChunkGenerator {
  generate(
    request: EngineRequest,
    options: { context: Context },
  ): Promise<AsyncIterable<EngineChunk>>;
}

/**
 * Turns an engine into a runtime endpoint handler, for a worker process:
 *
 * @example
 * const engine = new SimulatedEngine({ slots: 8 });
 * await rt.namespace('andon').component('engine').endpoint('generate')
 *   .serve(engineHandler(engine));
 *
 * Why not `(req, ctx) => engine.generate(req, { context: ctx })`: the runtime treats a
 * handler that returns a promise as a single response, so the promise's value (the stream
 * object) would be sent as one JSON item. The handler must return the async iterable
 * itself; `yield*` also forwards an early `return()` (the caller left) to the engine.
 *
 * Every request is checked against `limits` before it reaches the engine: a request over
 * them fails with a TypeError naming the field (the caller gets it as a BackendError).
 */
export function engineHandler(
  engine: ChunkGenerator,
  limits?: EngineLimits,
): (request: unknown, context: Context) => AsyncIterable<EngineChunk> {
  const checked = engineLimits(limits);
  return async function* serveEngine(request: unknown, context: Context) {
    assertEngineRequest(request, checked);
    yield* await engine.generate(request, { context });
  };
}
