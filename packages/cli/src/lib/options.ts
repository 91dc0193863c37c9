import { checkName, type RuntimeOptions } from '@andon/runtime';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createLogger } from './log.js';
import { isBeyondLoopback, readTokenFile, tokenOf } from './token.js';

/** The options every tier takes to find the others. */
export interface ConnectOptions {
  /** Directory for file discovery; the runtime's default when absent. */
  discoveryDir?: string;
  /** Namespace of the endpoints. */
  namespace: string;
  /** NATS server URL: NATS transport and discovery instead of TCP and files. */
  nats?: string;
  /** Address a serving tier's TCP transport listens on; the runtime's default when absent. */
  host?: string;
  /** The host other tiers reach this one at, when it is not `host` (0.0.0.0, NAT). */
  advertise?: string;
  /** The shared secret read from `--token-file` (its parser keeps the content, not the path). */
  tokenFile?: string;
}

/**
 * Adds the options that say how a tier reaches its peers; {@link runtimeOptions} maps them.
 * `namespace` is the default namespace (`demo` for the demo tiers, `andon` for the server's).
 */
export function addConnectOptions(command: Command, namespace = 'demo'): Command {
  return command
    .option(
      '--discovery-dir <dir>',
      'directory shared by the tiers for file discovery (default: $ANDON_DISCOVERY_DIR or <tmp>/andon-discovery)',
    )
    .option('--namespace <name>', 'namespace of the endpoints', parseName, namespace)
    .option(
      '--advertise <host>',
      "the host other tiers reach this one at, published in discovery (default: --host; for 0.0.0.0, this machine's first external IPv4 address)",
      parseHost,
    )
    .addOption(
      new Option(
        '--nats <url>',
        'use NATS (transport and discovery) at this server instead of TCP and a discovery directory',
      )
        .argParser(parseNatsUrl)
        .conflicts('discoveryDir'),
    )
    .addOption(
      new Option(
        '--token-file <file>',
        'file holding the shared secret every tier proves it holds (default: $ANDON_TOKEN); without one, a tier serves only on loopback and trusts every local process',
      ).argParser(readTokenFile),
    );
}

/**
 * The Runtime.start options for a tier started with {@link ConnectOptions}: TCP and file
 * discovery, or with `--nats` the NATS transport and discovery (credentials may sit in the
 * URL; the runtime keeps them out of its logs).
 */
export function runtimeOptions(options: ConnectOptions, token = tokenOf(options)): RuntimeOptions {
  // The runtime's own logs: quieter by default than a front end's request log.
  const logger = createLogger('andon-runtime', 'warn');
  const secret = token === undefined ? {} : { token };
  if (options.nats !== undefined) {
    return { transport: 'nats', discovery: 'nats', natsUrl: options.nats, logger, ...secret };
  }
  return {
    logger,
    ...secret,
    transport: 'tcp',
    discovery: 'file',
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.advertise === undefined ? {} : { advertise: options.advertise }),
    ...(options.discoveryDir === undefined ? {} : { discoveryDir: options.discoveryDir }),
  };
}

/** Commander parser: a nats:// or tls:// URL (credentials may be embedded). */
export function parseNatsUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a URL such as nats://127.0.0.1:4222');
  }
  if (url.protocol !== 'nats:' && url.protocol !== 'tls:') {
    throw new InvalidArgumentError(
      `expected a nats:// or tls:// URL, got ${url.protocol}// (e.g. nats://127.0.0.1:4222)`,
    );
  }
  return value;
}

/** Commander parser: a namespace the runtime accepts, checked before anything starts. */
export function parseName(value: string): string {
  try {
    return checkName('namespace', value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Commander parser: a whole number of milliseconds, at least `min`. */
export function parseMs(min: number): (value: string) => number {
  return (value) => {
    const ms = Number(value);
    if (value.trim() === '' || !Number.isInteger(ms) || ms < min) {
      throw new InvalidArgumentError(`expected a whole number of milliseconds >= ${min}`);
    }
    return ms;
  };
}

/** Commander parser: a whole number in `min..max`. */
export function parseInteger(
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`expected a whole number ${range}`);
    }
    return n;
  };
}

/** Commander parser: a number (fractions allowed) at least `min`. */
export function parseNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min) {
      throw new InvalidArgumentError(`expected a number >= ${min}`);
    }
    return n;
  };
}

/** Commander parser: a TCP port; 0 asks the OS for a free one. */
export const parsePort = parseInteger(0, 65535);

/** Commander parser: a host name or address to listen on. */
export function parseHost(value: string): string {
  if (value.trim() === '' || /\s|\/|:\/\//.test(value)) {
    throw new InvalidArgumentError('expected a host name or IP address, such as 127.0.0.1');
  }
  return value;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Commander parser: a duration such as `90s`, `30m`, `1h`, `2d` or `500ms` (bare numbers are ms). */
export function parseDuration(value: string): number {
  const match = DURATION.exec(value.trim());
  if (match === null) {
    throw new InvalidArgumentError('expected a duration such as 90s, 30m, 1h, 2d or 500ms');
  }
  const unit = (match[2] ?? 'ms') as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

/**
 * Says so on stderr when a tier listens beyond loopback: whoever reaches `host` can call
 * it (or read its metrics), which on 127.0.0.1 only this machine can.
 */
export function warnBeyondLoopback(prefix: string, host: string | undefined, what: string): void {
  if (!isBeyondLoopback(host)) return;
  process.stderr.write(
    `${prefix}warning: ${what} listens on ${host}, beyond this machine: any host that reaches it can use it\n`,
  );
}
