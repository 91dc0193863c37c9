import { HttpError } from '../openai/errors.js';
import { modelList } from '../openai/responses.js';
import type { Exchange } from './exchange.js';
import { sendError, sendJson } from './respond.js';

const PREFIX = '/v1/models/';

/**
 * `GET /v1/models/{id}` (the SDK's `models.retrieve(id)`): the model as it appears in
 * `GET /v1/models`, or 404 `model_not_found`. Returns undefined for any other path.
 */
export function matchModelRoute(
  path: string,
  models: readonly string[],
  created: number,
): ((exchange: Exchange) => void) | undefined {
  if (!path.startsWith(PREFIX) || path.length === PREFIX.length) return undefined;
  const id = decodeId(path.slice(PREFIX.length));
  return (exchange) => {
    const model = modelList(models, created).data.find((m) => m.id === id);
    if (model !== undefined) {
      sendJson(exchange.res, 200, model);
      return;
    }
    sendError(
      exchange.res,
      new HttpError(404, `the model '${id}' does not exist; available: ${models.join(', ')}`, {
        type: 'not_found_error',
        param: 'model',
        code: 'model_not_found',
      }),
    );
  };
}

// Model ids may hold a slash (`org/model`), which a client sends percent-encoded.
function decodeId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
