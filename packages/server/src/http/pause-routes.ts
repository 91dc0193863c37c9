import { HttpError } from '../openai/errors.js';
import type { Exchange } from './exchange.js';
import type { PausedStreams } from './paused-streams.js';
import { sendError, sendJson } from './respond.js';

const PATTERN = /^\/v1\/requests\/([^/]+)\/(pause|resume)$/;

/** A matched pause or resume route. */
export interface PauseRoute {
  readonly endpoint: string;
  readonly method: 'POST';
  handle(exchange: Exchange): void;
}

/**
 * `POST /v1/requests/{request_id}/pause` and `…/resume` (an andon extension): pause or
 * resume the in-flight streaming completion whose `x-request-id` is `request_id`. While
 * paused the server stops pulling from the engine, so the generation itself stops within
 * a bound (docs/PAUSE.md); SSE heartbeats go on, and a stop or disconnect still ends it at
 * once. Answers `{ "paused": true|false }`; 404 when no streaming completion in flight has
 * that id; 403 when it belongs to another user (under API keys; admins may pause any).
 *
 * @example
 * const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey });
 * const stream = await openai.chat.completions.create(
 *   { model: 'andon-sim', stream: true, messages }, { headers: { 'x-request-id': 'chat-1' } });
 * await fetch(`${url}/v1/requests/chat-1/pause`, { method: 'POST' });  // { paused: true }
 */
export function matchPauseRoute(path: string, streams: PausedStreams): PauseRoute | undefined {
  const match = PATTERN.exec(path);
  if (match === null) return undefined;
  const action = match[2] as 'pause' | 'resume';
  let requestId: string;
  try {
    requestId = decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
  return {
    endpoint: `/v1/requests/{request_id}/${action}`,
    method: 'POST',
    handle: (exchange) => {
      // The body is not used; read it so the connection can be reused.
      exchange.req.resume();
      const outcome = streams.set(requestId, exchange.principal, action === 'pause');
      if (outcome === 'not_found') {
        sendError(
          exchange.res,
          new HttpError(404, `no streaming completion with request id ${requestId} is in flight`, {
            type: 'not_found_error',
            code: 'request_not_found',
          }),
        );
      } else if (outcome === 'forbidden') {
        sendError(
          exchange.res,
          new HttpError(403, `request ${requestId} belongs to another user`, {
            type: 'permission_error',
            code: 'not_owner',
          }),
        );
      } else {
        sendJson(exchange.res, 200, outcome);
      }
    },
  };
}
