import { createEmbeddedServer, type SimulatedEngineOptions } from '@andon/server';
import { silentLogger } from '../lib/log.js';

/** The server `andon chat` talks to: its `/v1` base URL, and how to let it go. */
export interface ChatServer {
  /** The OpenAI base URL (ends in `/v1`, or whatever path `--url` gave). */
  readonly baseURL: string;
  /** True when this process runs it (no `--url`). */
  readonly embedded: boolean;
  close(): Promise<void>;
}

/**
 * `--url` as the SDK's base URL: a bare origin (what `andon serve` prints) gets `/v1`, a URL
 * with a path is used as given (`https://api.example.com/openai/v1`).
 */
export function baseUrlOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`--url is not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`--url must be http:// or https://, got ${url}`);
  }
  const path = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.origin}${path === '' ? '/v1' : path}`;
}

/**
 * Without `--url`: the embedded andon server (front end and simulated engine) in this
 * process, on 127.0.0.1 and a free port, logging nothing, so `andon chat` works on a
 * machine with nothing else running.
 */
export async function startEmbedded(engine: SimulatedEngineOptions): Promise<ChatServer> {
  const app = createEmbeddedServer({
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
    engine,
    shutdownGraceMs: 500,
  });
  const url = await app.listen();
  return { baseURL: `${url}/v1`, embedded: true, close: () => app.close() };
}

// The embedded server's request log would scribble over the answer on the terminal.
export { silentLogger } from '../lib/log.js';
