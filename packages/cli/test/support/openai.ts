import OpenAI from 'openai';

/** The official SDK pointed at a front end, without retries (a retry would hide a failure). */
export function sdk(url: string): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
}

const messages = [{ role: 'user' as const, content: 'Tell me about cancellation.' }];

/** Streams a chat completion to its end; resolves with the text and the finish reason. */
export async function streamToEnd(
  client: OpenAI,
  maxTokens = 12,
): Promise<{ text: string; finish: string | null; chunks: number }> {
  const stream = await client.chat.completions.create({
    model: 'andon-sim',
    messages,
    stream: true,
    max_tokens: maxTokens,
  });
  let text = '';
  let finish: string | null = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  return { text, finish, chunks };
}

/**
 * Starts a long stream and aborts it with `stream.controller.abort()` after `after` chunks,
 * as a chat UI's stop button does. Resolves with the chunks read.
 */
export async function streamAndAbort(client: OpenAI, after = 5): Promise<number> {
  const stream = await client.chat.completions.create({
    model: 'andon-sim',
    messages,
    stream: true,
    max_tokens: 4000,
  });
  let received = 0;
  try {
    for await (const _chunk of stream) {
      if (++received === after) {
        stream.controller.abort();
        // Chunks the SDK had already read may still be yielded after the abort (several
        // arrive in one read on a busy machine): a caller that aborts stops reading.
        break;
      }
    }
  } catch (error) {
    // The SDK may end the loop with its abort error instead of quietly; both are the abort.
    if (!(error instanceof OpenAI.APIUserAbortError)) throw error;
  }
  return received;
}

/** The raw SSE body of a short streamed chat completion, to see the `[DONE]` the SDK hides. */
export async function rawStream(url: string): Promise<string> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'andon-sim', messages, stream: true, max_tokens: 4 }),
  });
  return response.text();
}
