import { randomBytes } from 'node:crypto';
import type { EngineUsage, FinishReason } from '../backend.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ModelList,
  OpenAIUsage,
  TextCompletion,
} from './types.js';
import type { CompletionKind } from './validate.js';

const FINGERPRINT = 'fp_andon_sim';

/** Converts the engine's usage into OpenAI's. */
export function toOpenAIUsage(usage: EngineUsage): OpenAIUsage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

/**
 * Builds the response objects of one completion: the same id, `created` and model on every
 * chunk, as the SDK expects.
 */
export class CompletionResponses {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);
  #roleSent = false;

  constructor(
    readonly kind: CompletionKind,
    readonly model: string,
    /** With `stream_options.include_usage`, every chunk carries `usage: null`. */
    readonly includeUsage = false,
  ) {
    this.id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
  }

  /** A streamed chunk with new text, or the last one with its finish reason. */
  chunk(text: string, finishReason: FinishReason | null): ChatCompletionChunk | TextCompletion {
    const usage = this.includeUsage ? { usage: null } : {};
    if (this.kind === 'text') {
      return {
        id: this.id,
        object: 'text_completion',
        created: this.created,
        model: this.model,
        system_fingerprint: FINGERPRINT,
        choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
        ...usage,
      };
    }
    // The first delta names the role, as OpenAI's does; the final one is empty.
    const delta: ChatCompletionChunk['choices'][number]['delta'] = {};
    if (!this.#roleSent) {
      delta.role = 'assistant';
      this.#roleSent = true;
    }
    if (text.length > 0 || finishReason === null) delta.content = text;
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      system_fingerprint: FINGERPRINT,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...usage,
    };
  }

  /** The extra last chunk of `include_usage`: no choices, only usage. */
  usageChunk(usage: EngineUsage): ChatCompletionChunk | TextCompletion {
    const base = {
      id: this.id,
      created: this.created,
      model: this.model,
      system_fingerprint: FINGERPRINT,
      choices: [],
      usage: toOpenAIUsage(usage),
    };
    return this.kind === 'chat'
      ? { ...base, object: 'chat.completion.chunk' }
      : { ...base, object: 'text_completion' };
  }

  /** The whole answer of a non-streaming request. */
  complete(
    text: string,
    finishReason: FinishReason,
    usage: EngineUsage,
  ): ChatCompletion | TextCompletion {
    const common = {
      id: this.id,
      created: this.created,
      model: this.model,
      system_fingerprint: FINGERPRINT,
      usage: toOpenAIUsage(usage),
    };
    if (this.kind === 'text') {
      return {
        ...common,
        object: 'text_completion',
        choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }],
      };
    }
    return {
      ...common,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: finishReason,
        },
      ],
    };
  }
}

/** The `/v1/models` body. */
export function modelList(models: readonly string[], created: number): ModelList {
  return {
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created, owned_by: 'andon' })),
  };
}
