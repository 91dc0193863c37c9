// The dashboard page (`GET /`) and its assets. They are plain files in
// packages/server/dashboard/, outside src so tsc leaves them as they are; the same relative
// URL reaches them from src/http (tests) and from dist/http (the built package).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HttpError } from '../openai/errors.js';
import type { Exchange } from './exchange.js';
import { sendError } from './respond.js';

const FILES = [
  { path: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/dashboard.js', file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  { path: '/dashboard.css', file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  // Without an icon the browser asks for /favicon.ico, and its 404 (401 with keys) shows as
  // an error in the page's console.
  { path: '/favicon.svg', file: 'favicon.svg', type: 'image/svg+xml' },
] as const;

// Everything the page loads or talks to is this server: no inline code, no other origin, and
// no framing (the page has buttons that cancel work). 'self' covers ws:// to the same host.
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** A GET route of the page or one of its assets. */
export interface DashboardRoute {
  endpoint: string;
  method: 'GET';
  handle: (exchange: Exchange) => void;
}

/** The dashboard's paths: open without an API key, since the page itself holds no data. */
export function isDashboardPath(path: string): boolean {
  return FILES.some((f) => f.path === path);
}

/**
 * Reads the page and its assets once and returns their routes. A missing file (a package
 * installed without its `dashboard` folder) answers 404 saying so, rather than failing the
 * whole server.
 */
export function dashboardRoutes(): [string, DashboardRoute][] {
  return FILES.map(({ path, file, type }) => {
    const url = new URL(`../../dashboard/${file}`, import.meta.url);
    let body: Buffer | undefined;
    try {
      body = readFileSync(url);
    } catch {
      body = undefined;
    }
    // A strong ETag over the content: the files change only with the package, so browsers
    // revalidate (`no-cache`) and get a 304 instead of the body again.
    const etag = body && `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    const handle = (exchange: Exchange) => {
      const { req, res } = exchange;
      if (body === undefined || etag === undefined) {
        sendError(
          res,
          new HttpError(404, `the dashboard is not installed: ${fileURLToPath(url)} is missing`, {
            type: 'not_found_error',
            code: 'dashboard_missing',
          }),
        );
        return;
      }
      const headers = {
        'cache-control': 'no-cache',
        etag,
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      };
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers).end();
        return;
      }
      res.writeHead(200, { ...headers, 'content-type': type, 'content-length': body.length });
      res.end(body);
    };
    return [path, { endpoint: path, method: 'GET', handle }];
  });
}
