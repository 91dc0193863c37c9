import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../openai/errors.js';
import { sendError } from './respond.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** True for an address only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Keeps web pages out. A page on another origin can make a browser send requests to a
 * server on 127.0.0.1: as a CORS preflight (answered here, granting nothing, so the browser
 * never sends the real request), or by DNS rebinding (a name of the page's that resolves to
 * 127.0.0.1, which shows in `Host`; refused with 421 when the server listens on loopback).
 * Returns false when it answered the request itself.
 */
export function admitRequest(
  req: IncomingMessage,
  res: ServerResponse,
  listenHost: string,
): boolean {
  if (req.method === 'OPTIONS') {
    // No Access-Control-Allow-* headers: cross-origin calls from browsers are not allowed.
    res.writeHead(204, { allow: 'GET, POST', 'content-length': '0' }).end();
    return false;
  }
  if (isLoopbackHost(listenHost)) {
    const name = hostName(req.headers.host);
    if (name === undefined || !isLoopbackHost(name)) {
      sendError(
        res,
        new HttpError(
          421,
          `this server listens on ${listenHost} and answers only requests addressed to it; Host was ${JSON.stringify(req.headers.host ?? '')}`,
          { code: 'misdirected_request' },
        ),
      );
      return false;
    }
  }
  return true;
}

/** The name part of a Host header (`[::1]:8000` → `[::1]`, `localhost:80` → `localhost`). */
function hostName(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1) || undefined;
  return host.split(':', 1)[0]!.toLowerCase();
}

/**
 * Refuses a body that is not declared JSON (415). A form or `text/plain` POST is what a web
 * page can send cross-origin without a preflight; JSON needs one, which is refused.
 */
export function requireJson(req: IncomingMessage): void {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
    throw new HttpError(
      415,
      `send the body as JSON with content-type: application/json (got ${type === '' ? 'no content-type' : JSON.stringify(type)})`,
      { code: 'unsupported_media_type' },
    );
  }
}
