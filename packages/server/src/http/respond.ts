import type { ServerResponse } from 'node:http';
import type { HttpError } from '../openai/errors.js';

/** Sends a JSON response, unless the response already started or the client is gone. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Sends an OpenAI-style error body with its status. */
export function sendError(res: ServerResponse, error: HttpError): void {
  if (error.status === 413) {
    // The rest of the body is not read: close the connection instead of reusing it.
    res.setHeader('connection', 'close');
  }
  sendJson(res, error.status, error.toBody());
}
