import type { EngineRequest } from '../backend.js';
import { HttpError, invalidParam } from './errors.js';

/** Which API a request came in on; decides the response shapes. */
export type CompletionKind = 'chat' | 'text';

/** A validated completion request, ready for the backend. */
export interface CompletionRequest {
  kind: CompletionKind;
  engine: EngineRequest;
  stream: boolean;
  /** `stream_options.include_usage`: send a last chunk with usage and no choices. */
  includeUsage: boolean;
}

/** What the validator checks requests against. */
export interface RequestLimits {
  models: readonly string[];
  /** The largest `max_tokens` accepted. */
  maxTokensLimit: number;
  /** `max_tokens` when the request gives none. */
  defaultMaxTokens: number;
}

const CHAT_ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const MAX_STOP_STRINGS = 4;

/**
 * Validates a `/v1/chat/completions` or `/v1/completions` body, as OpenAI does for the
 * fields this server uses, and flattens it into an {@link EngineRequest}. Fields it does not
 * use (temperature, top_p, …) are accepted and ignored, so SDK defaults never fail.
 *
 * @throws HttpError (400, or 404 for an unknown model) naming the offending field.
 */
export function parseCompletionRequest(
  kind: CompletionKind,
  body: unknown,
  limits: RequestLimits,
): CompletionRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'the request body must be a JSON object', { code: 'invalid_body' });
  }
  const fields = body as Record<string, unknown>;
  const model = parseModel(fields.model, limits.models);
  const prompt = kind === 'chat' ? chatPrompt(fields.messages) : textPrompt(fields.prompt);
  const maxTokens = parseMaxTokens(kind, fields, limits);
  const stream = parseOptionalBoolean(fields.stream, 'stream') ?? false;
  const includeUsage = parseStreamOptions(fields.stream_options, stream);
  const stop = parseStop(fields.stop);
  const seed = parseSeed(fields.seed);
  if (fields.n !== undefined && fields.n !== null && fields.n !== 1) {
    throw invalidParam('n', 'only n = 1 is supported', 'unsupported_value');
  }
  const engine: EngineRequest = { model, prompt, maxTokens };
  if (stop.length > 0) engine.stop = stop;
  if (seed !== undefined) engine.seed = seed;
  return { kind, engine, stream, includeUsage };
}

function parseModel(model: unknown, models: readonly string[]): string {
  if (model === undefined || model === null) {
    throw invalidParam('model', 'you must provide a model parameter', 'missing_required_parameter');
  }
  if (typeof model !== 'string' || model.length === 0) {
    throw invalidParam('model', 'model must be a non-empty string');
  }
  if (!models.includes(model)) {
    throw new HttpError(
      404,
      `the model '${truncate(model)}' does not exist; available: ${models.join(', ')}`,
      { type: 'not_found_error', param: 'model', code: 'model_not_found' },
    );
  }
  return model;
}

function chatPrompt(messages: unknown): string {
  if (messages === undefined || messages === null) {
    throw invalidParam(
      'messages',
      'you must provide a messages parameter',
      'missing_required_parameter',
    );
  }
  if (!Array.isArray(messages)) throw invalidParam('messages', 'messages must be an array');
  if (messages.length === 0) {
    throw invalidParam('messages', 'messages must contain at least one message');
  }
  const lines = messages.map((message, index) => {
    const param = `messages[${index}]`;
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      throw invalidParam(param, `${param} must be an object with role and content`);
    }
    const { role, content } = message as Record<string, unknown>;
    if (typeof role !== 'string' || !CHAT_ROLES.has(role)) {
      throw invalidParam(
        `${param}.role`,
        `${param}.role must be one of ${[...CHAT_ROLES].join(', ')}`,
      );
    }
    return `${role}: ${messageText(content, `${param}.content`)}`;
  });
  lines.push('assistant:');
  return lines.join('\n');
}

// Content is a string or an array of parts; only text parts carry prompt text.
function messageText(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) {
    throw invalidParam(param, `${param} must be a string or an array of content parts`);
  }
  return content
    .map((part, index) => {
      if (typeof part !== 'object' || part === null || typeof part.type !== 'string') {
        throw invalidParam(
          `${param}[${index}]`,
          `${param}[${index}] must be a content part with a type`,
        );
      }
      if (part.type !== 'text') return '';
      if (typeof part.text !== 'string') {
        throw invalidParam(`${param}[${index}].text`, `${param}[${index}].text must be a string`);
      }
      return part.text as string;
    })
    .join('');
}

function textPrompt(prompt: unknown): string {
  if (prompt === undefined || prompt === null) {
    throw invalidParam(
      'prompt',
      'you must provide a prompt parameter',
      'missing_required_parameter',
    );
  }
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') {
    return prompt[0];
  }
  throw invalidParam('prompt', 'prompt must be a string (or an array holding one string)');
}

function parseMaxTokens(
  kind: CompletionKind,
  fields: Record<string, unknown>,
  limits: RequestLimits,
): number {
  // Chat accepts the newer max_completion_tokens; it wins when both are given, as in OpenAI.
  const param =
    kind === 'chat' && fields.max_completion_tokens != null
      ? 'max_completion_tokens'
      : 'max_tokens';
  const value = fields[param];
  if (value === undefined || value === null) return limits.defaultMaxTokens;
  if (
    !Number.isSafeInteger(value) ||
    (value as number) < 1 ||
    (value as number) > limits.maxTokensLimit
  ) {
    throw invalidParam(
      param,
      `${param} must be an integer between 1 and ${limits.maxTokensLimit}, got ${describe(value)}`,
    );
  }
  return value as number;
}

function parseOptionalBoolean(value: unknown, param: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalidParam(param, `${param} must be a boolean`);
  return value;
}

function parseStreamOptions(value: unknown, stream: boolean): boolean {
  if (value === undefined || value === null) return false;
  if (!stream) {
    throw invalidParam('stream_options', 'stream_options is only allowed when stream is true');
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidParam('stream_options', 'stream_options must be an object');
  }
  return (
    parseOptionalBoolean(
      (value as Record<string, unknown>).include_usage,
      'stream_options.include_usage',
    ) ?? false
  );
}

function parseStop(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) {
    throw invalidParam('stop', 'stop must be a string or an array of strings');
  }
  if (list.length > MAX_STOP_STRINGS) {
    throw invalidParam('stop', `stop may hold at most ${MAX_STOP_STRINGS} strings`);
  }
  return list.filter((item) => item.length > 0);
}

function parseSeed(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Number.isSafeInteger(value)) throw invalidParam('seed', 'seed must be an integer');
  return value as number;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(truncate(value)) : String(value);
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}
