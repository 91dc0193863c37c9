import type { Context } from '@andon/context';
import type { KindOptions, TaskHandle, TaskHandler } from '@andon/tasks';
import type { CompletionBackend, EngineUsage, FinishReason } from '../../backend.js';
import { objectInput, wholeField } from './input.js';

/** The input of `llm/Complete`. */
export interface CompleteInput {
  prompt: string;
  max_tokens: number;
}

/** What `llm/Complete` completes with. */
export interface CompleteResult {
  text: string;
  finish_reason: FinishReason | null;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
}

/** What `llm/Complete` generates with. */
export interface CompleteSetup {
  backend: CompletionBackend;
  /** The model name sent to the backend. */
  model: string;
  /** The largest `max_tokens` accepted (the front end's limit). */
  maxTokensLimit: number;
  /** `max_tokens` when the input gives none. */
  defaultMaxTokens: number;
}

/**
 * `llm/Complete { prompt, max_tokens }`: a completion on the andon engine, each chunk a
 * `progress` event `{ text, tokens }`. The task's Context goes with the call, so a cancel
 * frees the engine's slot, also when the engine runs in a worker process.
 */
export function complete(setup: CompleteSetup): TaskHandler<CompleteInput, CompleteResult> {
  return async ({ prompt, max_tokens }, ctx: Context, task: TaskHandle) => {
    const chunks = await setup.backend.generate(
      { model: setup.model, prompt, maxTokens: max_tokens },
      { context: ctx },
    );
    let text = '';
    let finishReason: FinishReason | null = null;
    let usage: EngineUsage | undefined;
    for await (const chunk of chunks) {
      text += chunk.text;
      if (chunk.text !== '' || chunk.tokens > 0) {
        void task.emit('progress', { text: chunk.text, tokens: chunk.tokens });
      }
      if (chunk.finishReason !== undefined) finishReason = chunk.finishReason;
      if (chunk.usage !== undefined) usage = chunk.usage;
    }
    return {
      text,
      finish_reason: finishReason,
      usage:
        usage === undefined
          ? null
          : { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens },
    };
  };
}

/** Input checks of `llm/Complete`, against the front end's limits. */
export function completeOptions(setup: CompleteSetup): KindOptions<CompleteInput> {
  return {
    validate(input) {
      const fields = objectInput(input, 'llm/Complete', '{"prompt": "Hello", "max_tokens": 64}');
      const { prompt } = fields;
      if (typeof prompt !== 'string' || prompt.length === 0) {
        throw new TypeError('prompt must be a non-empty string');
      }
      return {
        prompt,
        max_tokens: wholeField(
          fields,
          'max_tokens',
          1,
          setup.maxTokensLimit,
          setup.defaultMaxTokens,
        ),
      };
    },
  };
}
