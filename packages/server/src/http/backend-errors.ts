import { isCancelledError } from '@andon/context';
import { HttpError } from '../openai/errors.js';

/**
 * Maps an error from the backend (the runtime's typed errors, or the engine's) to the HTTP
 * error the client gets. Matched by `code`, so errors from another copy of the runtime
 * package map the same way.
 */
export function httpErrorFromBackend(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (isCancelledError(error)) {
    return new HttpError(503, `the request was cancelled by the backend: ${message}`, {
      code: 'cancelled',
      cause: error,
    });
  }
  switch (code) {
    case 'ANDON_OVERLOADED':
      return new HttpError(503, message, {
        type: 'overloaded_error',
        code: 'overloaded',
        cause: error,
      });
    case 'ANDON_NO_INSTANCES':
      return new HttpError(503, `no worker is available: ${message}`, {
        code: 'no_instances',
        cause: error,
      });
    case 'ANDON_DEADLINE_EXCEEDED':
      return new HttpError(504, message, {
        type: 'timeout_error',
        code: 'deadline_exceeded',
        cause: error,
      });
    case 'ANDON_DISCONNECTED':
      return new HttpError(502, `the worker went away: ${message}`, {
        code: 'worker_disconnected',
        cause: error,
      });
    case 'ANDON_PROTOCOL_ERROR':
      return new HttpError(502, `the worker broke the protocol: ${message}`, {
        code: 'protocol_error',
        cause: error,
      });
    case 'ANDON_BACKEND_ERROR':
      return new HttpError(500, `the worker failed: ${message}`, {
        code: 'backend_error',
        cause: error,
      });
    default:
      return new HttpError(500, `internal error: ${message}`, {
        code: 'internal_error',
        cause: error,
      });
  }
}
