import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const VALID_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The request id: the client's `x-request-id` when it is a sane token (1–128 visible ASCII
 * characters, so it is safe in logs and headers), otherwise a new UUID. Either way the
 * response echoes it, and it becomes the Context id that every tier sees.
 */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && VALID_ID.test(given) ? given : randomUUID();
}
