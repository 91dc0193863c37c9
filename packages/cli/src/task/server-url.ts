import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultDataDir } from '@andon/tasks';

// Where `andon serve` leaves its URL, so `andon task` finds a server on a port it picked.
const FILE = 'serve.url';

/** Records `url` as the local server's (in the data directory); returns the undo. */
export function publishServerUrl(url: string, dataDir = defaultDataDir()): () => void {
  const path = join(dataDir, FILE);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(path, `${url}\n`, { mode: 0o600 });
  } catch {
    // Finding the server is a convenience: `andon task --url` still works without it.
    return () => {};
  }
  return () => {
    try {
      if (readFileSync(path, 'utf8').trim() === url) rmSync(path, { force: true });
    } catch {}
  };
}

/**
 * The URL `andon task` talks to: `--url`, else `$ANDON_URL`, else the one a local
 * `andon serve` published.
 *
 * @throws Error saying how to point it at a server when none is known.
 */
export function serverUrl(given: string | undefined, dataDir = defaultDataDir()): string {
  const url = given ?? process.env.ANDON_URL;
  if (url !== undefined && url !== '') return url.replace(/\/+$/, '');
  try {
    return readFileSync(join(dataDir, FILE), 'utf8').trim();
  } catch {
    throw new Error(
      `no local andon server found (no ${join(dataDir, FILE)}); start one with \`andon serve\`, or pass --url http://HOST:PORT`,
    );
  }
}
