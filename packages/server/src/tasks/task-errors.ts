import {
  QueueFullError,
  ShuttingDownError,
  TaskExistsError,
  TaskInputError,
  TaskNotFoundError,
  UnknownKindError,
} from '@andon/tasks';
import { HttpError } from '../openai/errors.js';

/** Seconds a client is told to wait (`Retry-After`) when the queue is full or we shut down. */
export const RETRY_AFTER_S = 1;

/** The HTTP answer to an error of `@andon/tasks`, or `undefined` for anything else. */
export function httpErrorOfTasks(error: unknown): HttpError | undefined {
  if (error instanceof UnknownKindError || error instanceof TaskNotFoundError) {
    return new HttpError(404, error.message, { type: 'not_found_error', code: error.code });
  }
  if (error instanceof TaskInputError) {
    return new HttpError(400, error.message, { param: 'input', code: error.code });
  }
  if (error instanceof TaskExistsError) {
    return new HttpError(409, error.message, { param: 'id', code: error.code });
  }
  if (error instanceof QueueFullError) {
    return new HttpError(429, error.message, { type: 'overloaded_error', code: error.code });
  }
  if (error instanceof ShuttingDownError) {
    return new HttpError(503, error.message, { code: error.code });
  }
  return undefined;
}
