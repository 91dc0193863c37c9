import { ApiKeys } from '@andon/server';
import type { Command } from 'commander';
import { commandPrefix, note } from '../lib/output.js';

/** The authentication flags of the commands that serve HTTP. */
export interface AuthFlags {
  /** A file of `key user [admin]` lines. */
  apiKeys?: string;
  /** Serve beyond loopback without API keys. */
  insecureNoAuth?: boolean;
}

/** Adds `--api-keys FILE` (default `$ANDON_API_KEYS`) and `--insecure-no-auth`. */
export function addAuthOptions(command: Command): Command {
  return command
    .option(
      '--api-keys <file>',
      'require Authorization: Bearer KEY, with KEY from this file of "key user [admin]" lines (default: $ANDON_API_KEYS)',
    )
    .option(
      '--insecure-no-auth',
      'listen beyond loopback (--host) without API keys: anyone who reaches the port may use and cancel everything',
      false,
    );
}

/**
 * The API keys to serve with, or `undefined` for the one anonymous user. Without keys the
 * server listens on loopback only, unless told `--insecure-no-auth`.
 *
 * @throws Error saying how to fix it, when keys are missing for a non-loopback host or the
 *   file is unreadable or malformed.
 */
export async function loadApiKeys(
  flags: AuthFlags,
  host: string,
  command: string,
): Promise<ApiKeys | undefined> {
  const file = flags.apiKeys ?? (process.env.ANDON_API_KEYS || undefined);
  if (file !== undefined) return ApiKeys.load(file);
  if (isLoopback(host)) return undefined;
  if (!flags.insecureNoAuth) {
    throw new Error(
      `refusing to listen on ${host} without API keys: anyone who reaches it could read and cancel every request. Pass --api-keys FILE (lines of "key user [admin]"), listen on 127.0.0.1, or say --insecure-no-auth`,
    );
  }
  note(
    commandPrefix(command),
    `warning: listening on ${host} without API keys (--insecure-no-auth)`,
  );
  return undefined;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
