import type { EngineRequest } from '../backend.js';
import { positiveInteger } from '../option-checks.js';

/**
 * What a worker accepts in one engine request, whoever sends it. The front end checks its
 * users' input against the same figures; a worker checks again, because a caller on the
 * request plane need not be the front end (a script, a broken or foreign peer), and one
 * request asking for `maxTokens: 1e9` would hold an engine slot for months.
 */
export interface EngineLimits {
  /** The largest `maxTokens`. Default 4096 (the front end's default `max_tokens` limit). */
  maxTokens?: number;
  /** The longest prompt, in characters. Default 1 048 576 (the front end's body limit). */
  maxPromptChars?: number;
  /** The most stop strings. Default 4 (as OpenAI's API). */
  maxStopStrings?: number;
}

const DEFAULTS: Required<EngineLimits> = {
  maxTokens: 4096,
  maxPromptChars: 1024 * 1024,
  maxStopStrings: 4,
};

// The engine's own check is of shape only: its callers (front end, worker handler) bound it.
const UNBOUNDED: Required<EngineLimits> = {
  maxTokens: Number.MAX_SAFE_INTEGER,
  maxPromptChars: Number.MAX_SAFE_INTEGER,
  maxStopStrings: Number.MAX_SAFE_INTEGER,
};

/** Fills in the defaults of `limits`, checking the ones given. @throws TypeError naming one. */
export function engineLimits(limits: EngineLimits = {}): Required<EngineLimits> {
  const resolved = { ...DEFAULTS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    positiveInteger(`engine limits: ${name}`, value);
  }
  return resolved;
}

/**
 * Checks an {@link EngineRequest} that may have come off the wire, against `limits` (none
 * unless given: `engineHandler` gives the worker's). The front end validates user
 * input first; this guards the worker against a broken or foreign caller.
 *
 * @throws TypeError naming the field that is wrong.
 */
export function assertEngineRequest(
  request: unknown,
  limits: Required<EngineLimits> = UNBOUNDED,
): asserts request is EngineRequest {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new TypeError('engine request must be an object');
  }
  const { model, prompt, maxTokens, stop, seed } = request as Record<string, unknown>;
  if (typeof model !== 'string' || model.length === 0) {
    throw new TypeError('engine request: model must be a non-empty string');
  }
  if (typeof prompt !== 'string') throw new TypeError('engine request: prompt must be a string');
  if (prompt.length > limits.maxPromptChars) {
    throw new TypeError(
      `engine request: prompt is ${prompt.length} characters; this worker takes at most ${limits.maxPromptChars}`,
    );
  }
  if (
    !Number.isSafeInteger(maxTokens) ||
    (maxTokens as number) < 1 ||
    (maxTokens as number) > limits.maxTokens
  ) {
    throw new TypeError(
      `engine request: maxTokens must be an integer from 1 to ${limits.maxTokens}, got ${String(maxTokens)}`,
    );
  }
  if (
    stop !== undefined &&
    (!Array.isArray(stop) || !stop.every((item) => typeof item === 'string'))
  ) {
    throw new TypeError('engine request: stop must be an array of strings');
  }
  if (stop !== undefined && stop.length > limits.maxStopStrings) {
    throw new TypeError(
      `engine request: stop may hold at most ${limits.maxStopStrings} strings, got ${stop.length}`,
    );
  }
  if (seed !== undefined && !Number.isSafeInteger(seed)) {
    throw new TypeError('engine request: seed must be an integer');
  }
}
