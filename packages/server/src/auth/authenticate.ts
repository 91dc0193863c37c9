import type { IncomingMessage } from 'node:http';
import { HttpError } from '../openai/errors.js';
import type { ApiKeys } from './api-keys.js';
import { ANONYMOUS, type Principal } from './principal.js';

/**
 * Who sent `req`: with API keys, the owner of its `Authorization: Bearer KEY` (as OpenAI
 * clients send it); without, {@link ANONYMOUS}.
 *
 * @throws HttpError 401 (with `WWW-Authenticate: Bearer` to be set by the caller) when
 *   the key is missing or unknown.
 */
export function authenticate(req: IncomingMessage, keys: ApiKeys | undefined): Principal {
  if (keys === undefined) return ANONYMOUS;
  const header = req.headers.authorization;
  if (header === undefined || header === '') {
    throw unauthorized(
      'this server needs an API key: send Authorization: Bearer YOUR_KEY',
      'missing_api_key',
    );
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) {
    throw unauthorized(
      'the Authorization header must be "Bearer YOUR_KEY"',
      'invalid_authorization',
    );
  }
  const principal = keys.lookup(match[1]!);
  if (principal === undefined) throw unauthorized('the API key is not valid', 'invalid_api_key');
  return principal;
}

function unauthorized(message: string, code: string): HttpError {
  return new HttpError(401, message, { type: 'authentication_error', code });
}
