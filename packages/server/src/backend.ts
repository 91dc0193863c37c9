import type { Context } from '@andon/context';

/** Why a sequence ended normally: a stop string or natural end (`stop`), or `max_tokens` (`length`). */
export type FinishReason = 'stop' | 'length';

/**
 * One generation request as a worker sees it: the OpenAI request already flattened into a
 * prompt and validated by the front end. It is plain JSON so that it crosses the runtime's
 * wire unchanged.
 */
export interface EngineRequest {
  /** The model name the client asked for. */
  model: string;
  /** The prompt text (chat messages are flattened into one prompt by the front end). */
  prompt: string;
  /** Generate at most this many tokens (finish reason `length` when reached). */
  maxTokens: number;
  /** Stop strings: the first one generated ends the sequence (finish reason `stop`), unsent. */
  stop?: string[];
  /** Seed for the generated text; default derived from the prompt, so output is repeatable. */
  seed?: number;
}

/** Token counts of one finished sequence. */
export interface EngineUsage {
  promptTokens: number;
  completionTokens: number;
}

/**
 * A piece of generated text. A stream of chunks ends with exactly one chunk carrying
 * `finishReason` and `usage`: a stream that ends without it was cut short (cancelled or
 * broken), never complete. Also plain JSON, for the wire.
 */
export interface EngineChunk {
  /** Text generated since the previous chunk (may be empty, e.g. on the final chunk). */
  text: string;
  /** How many tokens this chunk covers (a slow reader gets several merged into one). */
  tokens: number;
  /** Present on the last chunk only. */
  finishReason?: FinishReason;
  /** Present on the last chunk only. */
  usage?: EngineUsage;
}

/**
 * The seam between the HTTP front end and whatever generates text. The runtime's client
 * (`await endpoint.client()`) has exactly this method shape, so it plugs in unchanged; the
 * {@link SimulatedEngine} implements it too, for a single process and for tests.
 *
 * Contract the front end relies on:
 * - `generate` rejects early for what can be known before streaming starts (overloaded,
 *   no instances); the front end then answers with a plain HTTP error.
 * - The work runs under `options.context`: when the front end stops or kills that context
 *   (client gone, shutdown), the backend stops generating, and the iterable ends or throws.
 *   The front end also stops pulling at once, so a backend that ignores it cannot hang a
 *   request; leaving the loop calls the iterator's `return()`, which must release the work.
 *
 * @example
 * // in-process
 * const backend: CompletionBackend = new SimulatedEngine({ slots: 4 });
 * // through the runtime: an endpoint's Client is a CompletionBackend
 * const backend: CompletionBackend = await rt.namespace('andon').component('engine')
 *   .endpoint('generate').client();
 */
export interface CompletionBackend {
  generate(request: EngineRequest, options: GenerateOptions): Promise<AsyncIterable<EngineChunk>>;
}

/** Options of one {@link CompletionBackend.generate} call. */
export interface GenerateOptions {
  /** The request's context: its stop or kill ends the work. */
  context: Context;
  /**
   * Chunks the backend may produce ahead of the reader (the runtime client's per-call credit
   * window). An in-process engine bounds its own buffer and ignores it.
   */
  window?: number;
}
