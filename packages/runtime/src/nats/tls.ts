/**
 * TLS to the NATS server: which PEM files to use, from options or the nats CLI's
 * environment variables, checked before anything connects.
 */
import { accessSync, constants } from 'node:fs';
import type { TlsOptions } from '@nats-io/transport-node';

/**
 * PEM files for TLS to the NATS server. Each field defaults to the variable the nats CLI
 * reads: `NATS_CA`, `NATS_CERT`, `NATS_KEY`.
 *
 * - With none of them and a `nats://` URL, TLS is used when the server offers it, checked
 *   against the system's trusted CAs.
 * - A `tls://` URL, or any of these files, makes TLS required: a server without TLS is
 *   refused rather than spoken to in the clear.
 *
 * @example
 * await Runtime.start({
 *   transport: 'nats',
 *   natsUrl: 'tls://nats.internal:4222',
 *   natsTls: { caFile: '/etc/andon/ca.pem', certFile: '/etc/andon/me.pem', keyFile: '/etc/andon/me-key.pem' },
 * });
 */
export interface NatsTlsFiles {
  /** CA certificate(s) that sign the server's certificate, instead of the system's. */
  caFile?: string;
  /** This client's certificate, for servers that verify clients (needs `keyFile`). */
  certFile?: string;
  /** The private key of `certFile`. */
  keyFile?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const FIELDS = [
  ['caFile', 'NATS_CA'],
  ['certFile', 'NATS_CERT'],
  ['keyFile', 'NATS_KEY'],
] as const;

/**
 * The `tls` option for the NATS client, or undefined when TLS is left to the server's
 * offer. Throws a TypeError naming the option or variable that is wrong: not an object,
 * an unknown field, a certificate without its key (or the reverse), a file that cannot be
 * read.
 */
export function resolveNatsTls(
  option: unknown,
  env: Env,
  required: boolean,
): TlsOptions | undefined {
  if (option !== undefined && (typeof option !== 'object' || option === null)) {
    throw new TypeError('options.tls must be an object with caFile, certFile and/or keyFile');
  }
  const given = (option ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!FIELDS.some(([field]) => field === key)) {
      throw new TypeError(
        `options.tls.${key} is not an option; use caFile, certFile and/or keyFile (PEM file paths)`,
      );
    }
  }
  const tls: TlsOptions = {};
  const source: Record<string, string> = {};
  for (const [field, variable] of FIELDS) {
    const value = given[field];
    if (value !== undefined) {
      if (typeof value !== 'string' || value === '') {
        throw new TypeError(`options.tls.${field} must be a non-empty file path`);
      }
      tls[field] = value;
      source[field] = `options.tls.${field}`;
    } else if (env[variable]) {
      tls[field] = env[variable];
      source[field] = variable;
    }
  }
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    const [has, lacks] =
      tls.certFile === undefined ? ['keyFile', 'certFile'] : ['certFile', 'keyFile'];
    throw new TypeError(
      `${source[has]} needs options.tls.${lacks} (or ${lacks === 'certFile' ? 'NATS_CERT' : 'NATS_KEY'}): a client certificate goes with its key`,
    );
  }
  for (const [field] of FIELDS) {
    const path = tls[field];
    if (path === undefined) continue;
    try {
      accessSync(path, constants.R_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new TypeError(`${source[field]}: cannot read ${path} (${code})`);
    }
  }
  if (Object.keys(tls).length > 0 || required) return tls;
  return undefined;
}
