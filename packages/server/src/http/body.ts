import type { IncomingMessage } from 'node:http';
import { HttpError } from '../openai/errors.js';

/**
 * Reads a JSON request body of at most `limitBytes`. A declared `content-length` over the
 * limit is refused before anything is read; a chunked body is cut off as soon as it passes
 * the limit.
 *
 * @throws HttpError 413 (body too large) or 400 (malformed JSON, empty body), or the
 *   stream's error when the client goes away while sending.
 */
export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge(limitBytes);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    parts.push(part);
  }
  const text = Buffer.concat(parts).toString('utf8');
  if (text.trim().length === 0) {
    throw new HttpError(400, 'the request body is empty; send a JSON object', {
      code: 'invalid_body',
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(
      400,
      `we could not parse the JSON body of your request: ${(error as Error).message}`,
      { code: 'invalid_json', cause: error },
    );
  }
}

function tooLarge(limitBytes: number): HttpError {
  return new HttpError(413, `the request body is larger than the limit of ${limitBytes} bytes`, {
    code: 'request_too_large',
  });
}
