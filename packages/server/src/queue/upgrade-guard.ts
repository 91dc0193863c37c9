import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { isLoopbackHost } from '../http/request-guard.js';

/** The path of the queue's WebSocket. */
export const QUEUE_PATH = '/v1/ws';

/** Why an upgrade is refused: an HTTP status and a message for the client. */
export interface UpgradeRefusal {
  readonly status: number;
  readonly message: string;
}

/**
 * Checks an upgrade before the WebSocket handshake: the path, the `Host` when the server
 * listens on loopback (DNS rebinding), and the `Origin` (a web page of another site may
 * open a WebSocket to 127.0.0.1: browsers apply no CORS to WebSockets). Programs send no
 * `Origin` and pass. Returns undefined when the upgrade may go on.
 */
export function refusalOf(req: IncomingMessage, listenHost: string): UpgradeRefusal | undefined {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== QUEUE_PATH) {
    return { status: 404, message: `no WebSocket at ${path}; the queue is at ${QUEUE_PATH}` };
  }
  const host = req.headers.host ?? '';
  if (isLoopbackHost(listenHost) && !isLoopbackHost(hostName(host))) {
    return {
      status: 421,
      message: `this server listens on ${listenHost} and answers only requests addressed to it; Host was ${JSON.stringify(host)}`,
    };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && originHost(origin) !== host.toLowerCase()) {
    return {
      status: 403,
      message: `a WebSocket from the page ${JSON.stringify(origin)} is not allowed: only pages this server serves may open one`,
    };
  }
  return undefined;
}

/** Answers a refused upgrade with a small JSON error and closes the socket once it is sent. */
export function refuseUpgrade(socket: Duplex, { status, message }: UpgradeRefusal): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error' } });
  const reason = REASONS[status] ?? 'Error';
  socket.once('finish', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

const REASONS: Readonly<Record<number, string>> = {
  403: 'Forbidden',
  404: 'Not Found',
  421: 'Misdirected Request',
  503: 'Service Unavailable',
};

// `http://127.0.0.1:8000` → `127.0.0.1:8000`; `null` (a sandboxed page) or junk → ''.
function originHost(origin: string): string {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return '';
  }
}

// The name part of a Host header (`[::1]:8000` → `[::1]`, `localhost:80` → `localhost`).
function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return host.split(':', 1)[0]!.toLowerCase();
}
