/** The `type` field of an OpenAI error body. */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'server_error'
  | 'overloaded_error'
  | 'timeout_error';

/** The body OpenAI (and its SDKs) use for every error: `{ error: { message, type, param, code } }`. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: OpenAIErrorType;
    param: string | null;
    code: string | null;
  };
}

/**
 * An error with the HTTP status and OpenAI-style body to answer it with. Everything a user
 * can get wrong is raised as one of these, so the response says what to fix.
 *
 * @example
 * throw new HttpError(400, 'max_tokens must be an integer between 1 and 4096', {
 *   param: 'max_tokens', code: 'invalid_value' });
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly param: string | null;
  readonly code: string | null;

  constructor(
    status: number,
    message: string,
    options: { type?: OpenAIErrorType; param?: string; code?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.type = options.type ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
    this.param = options.param ?? null;
    this.code = options.code ?? null;
  }

  toBody(): OpenAIErrorBody {
    return {
      error: { message: this.message, type: this.type, param: this.param, code: this.code },
    };
  }
}

/** A 400 about one request field. */
export function invalidParam(param: string, message: string, code = 'invalid_value'): HttpError {
  return new HttpError(400, message, { param, code });
}
