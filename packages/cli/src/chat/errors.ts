import OpenAI from 'openai';

/** A failure `andon chat` reports in one clear line and exits non-zero with. */
export class ChatError extends Error {
  override readonly name = 'ChatError';
}

/**
 * Turns what the SDK throws into a message that says what to do: the server cannot be
 * reached, or it refused the request (and why, from its error body).
 */
export function explain(error: unknown, url: string): ChatError {
  if (error instanceof ChatError) return error;
  if (error instanceof OpenAI.APIConnectionError) {
    return new ChatError(`cannot reach the server at ${url}: ${describeCause(error)}`);
  }
  if (error instanceof OpenAI.APIError && error.status !== undefined) {
    const hint =
      error.status === 401
        ? ' (set --api-key or OPENAI_API_KEY)'
        : error.status === 404
          ? ' (check --model and --url)'
          : '';
    return new ChatError(`the server refused the request: ${error.status} ${plain(error)}${hint}`);
  }
  if (error instanceof OpenAI.APIError) {
    return new ChatError(`the stream failed: ${plain(error)}`);
  }
  return new ChatError(error instanceof Error ? error.message : String(error));
}

// The SDK prefixes the status to its messages; the body's own message reads better.
function plain(error: InstanceType<typeof OpenAI.APIError>): string {
  const body = error.error as { message?: unknown } | undefined;
  return typeof body?.message === 'string' ? body.message : error.message;
}

function describeCause(error: Error): string {
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.message;
}
