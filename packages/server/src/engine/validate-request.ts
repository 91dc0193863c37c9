import type { EngineRequest } from '../backend.js';

/**
 * Checks an {@link EngineRequest} that may have come off the wire. The front end validates
 * user input first; this guards the worker against a broken or foreign caller.
 *
 * @throws TypeError naming the field that is wrong.
 */
export function assertEngineRequest(request: unknown): asserts request is EngineRequest {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new TypeError('engine request must be an object');
  }
  const { model, prompt, maxTokens, stop, seed } = request as Record<string, unknown>;
  if (typeof model !== 'string' || model.length === 0) {
    throw new TypeError('engine request: model must be a non-empty string');
  }
  if (typeof prompt !== 'string') throw new TypeError('engine request: prompt must be a string');
  if (!Number.isSafeInteger(maxTokens) || (maxTokens as number) < 1) {
    throw new TypeError('engine request: maxTokens must be an integer >= 1');
  }
  if (
    stop !== undefined &&
    (!Array.isArray(stop) || !stop.every((item) => typeof item === 'string'))
  ) {
    throw new TypeError('engine request: stop must be an array of strings');
  }
  if (seed !== undefined && !Number.isSafeInteger(seed)) {
    throw new TypeError('engine request: seed must be an integer');
  }
}
