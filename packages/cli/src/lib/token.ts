import { readFileSync, statSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';

/** The environment variable that holds the shared secret when no `--token-file` is given. */
export const TOKEN_ENV = 'ANDON_TOKEN';

/**
 * Commander parser for `--token-file`: reads the shared secret the tiers prove to each
 * other (the whole file, less trailing whitespace). A file other users may read is
 * refused: whoever reads the secret can pose as any tier.
 */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    const info = statSync(path);
    if ((info.mode & 0o077) !== 0) {
      throw new InvalidArgumentError(
        `${path} may be read by other users (mode ${(info.mode & 0o777).toString(8)}); make it private: chmod 600 ${path}`,
      );
    }
    text = readFileSync(path, 'utf8').trimEnd();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InvalidArgumentError(`cannot read ${path} (${code})`);
  }
  if (text.length === 0) throw new InvalidArgumentError(`${path} is empty`);
  return text;
}

/** The secret a tier uses: `--token-file`'s, else `$ANDON_TOKEN`'s, else none. */
export function tokenOf(options: { tokenFile?: string }): string | undefined {
  return options.tokenFile ?? (process.env[TOKEN_ENV] || undefined);
}

/** Whether a tier listening on `host` is reachable from other machines. */
export function isBeyondLoopback(host: string | undefined): boolean {
  return host !== undefined && !/^(localhost|::1|\[::1\]|127(\.\d{1,3}){3})$/.test(host);
}

/**
 * A tier that would serve beyond loopback without a shared secret: anyone who reaches the
 * address could call it. Refused with a message that says what to do.
 */
export function requireTokenBeyondLoopback(
  what: string,
  options: { host?: string; tokenFile?: string; nats?: string },
): void {
  if (options.nats !== undefined || !isBeyondLoopback(options.host)) return;
  if (tokenOf(options) !== undefined) return;
  throw new Error(
    `${what} would listen on ${options.host} without a shared secret, so any host that reaches it could call it. Give every tier the same secret with --token-file FILE (or $${TOKEN_ENV}), or listen on 127.0.0.1`,
  );
}
