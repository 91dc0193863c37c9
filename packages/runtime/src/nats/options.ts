/**
 * Where and how to reach NATS: options, environment variables, validation and redaction,
 * shared by NATS discovery and the NATS transport.
 */
import type { NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { type NatsTlsFiles, resolveNatsTls } from './tls.js';

export type { NatsTlsFiles } from './tls.js';

/**
 * How to reach a NATS server: the one options type of every NATS connection andon opens
 * ({@link connectNats}, `NatsDiscovery.connect`). Explicit options win over environment
 * variables.
 */
export interface NatsConnectOptions {
  /**
   * Server URL(s), e.g. `nats://127.0.0.1:4222`. Credentials may be embedded
   * (`nats://user:pass@host:4222`, `nats://token@host:4222`).
   * Default: `ANDON_NATS_URL`, then `NATS_URL`, then `nats://127.0.0.1:4222`.
   */
  servers?: string | readonly string[];
  /** Default: `NATS_USER`. */
  user?: string;
  /** Default: `NATS_PASSWORD`. */
  password?: string;
  /** Default: `NATS_TOKEN`. Excludes user/password. */
  token?: string;
  /** TLS files; each defaults to `NATS_CA`, `NATS_CERT`, `NATS_KEY`. See {@link NatsTlsFiles}. */
  tls?: NatsTlsFiles;
  /** Connection name shown by the server's monitoring. */
  name?: string;
  /** How long the first connection may take. Default 5000 ms. */
  connectTimeoutMs?: number;
  /**
   * The client pings the server this often (a frozen server is found in 3×). Default 1500 ms
   * (NATS discovery: its lease, at least 1000 ms).
   */
  pingIntervalMs?: number;
  /** Environment to read (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** The result of {@link resolveNatsOptions}: what to pass to `connect`, and what to hide. */
export interface ResolvedNatsOptions {
  /** Options for `connect()` from `@nats-io/transport-node`, credentials split out of URLs. */
  readonly connect: NodeConnectionOptions;
  /** The servers with any credentials replaced by `***`, for messages and logs. */
  readonly display: string;
  /** Every secret in play, so {@link redactSecrets} can scrub them from any text. */
  readonly secrets: readonly string[];
}

const DEFAULT_URL = 'nats://127.0.0.1:4222';
const SCHEMES = new Set(['nats:', 'tls:']);

/**
 * Validates the options, fills them in from the environment and splits credentials out of
 * URLs. Throws a TypeError naming the offending option.
 *
 * @example
 * const { connect: opts, display } = resolveNatsOptions({ servers: 'nats://u:p@127.0.0.1:4222' });
 * // opts = { servers: ['nats://127.0.0.1:4222'], user: 'u', pass: 'p', ... }
 * // display = 'nats://u:***@127.0.0.1:4222'
 */
export function resolveNatsOptions(options: NatsConnectOptions = {}): ResolvedNatsOptions {
  const env = options.env ?? process.env;
  const fromEnv = options.servers === undefined;
  const rawServers = fromEnv
    ? splitList(env.ANDON_NATS_URL ?? env.NATS_URL ?? DEFAULT_URL)
    : options.servers;
  const what = fromEnv
    ? env.ANDON_NATS_URL !== undefined
      ? 'ANDON_NATS_URL'
      : 'NATS_URL'
    : 'options.servers';
  if (typeof rawServers === 'string')
    return resolveNatsOptions({ ...options, servers: [rawServers] });
  if (!Array.isArray(rawServers) || rawServers.length === 0) {
    throw new TypeError(`${what} must be a URL string or a non-empty array of them`);
  }
  let user = optionalString('options.user', options.user) ?? nonEmpty(env.NATS_USER);
  let pass = optionalString('options.password', options.password) ?? nonEmpty(env.NATS_PASSWORD);
  let token = optionalString('options.token', options.token) ?? nonEmpty(env.NATS_TOKEN);
  const secrets = new Set<string>();
  const servers: string[] = [];
  const display: string[] = [];
  for (const raw of rawServers as readonly unknown[]) {
    const parsed = parseServer(what, raw);
    servers.push(parsed.url);
    display.push(parsed.display);
    if (parsed.user !== undefined) {
      user ??= parsed.user;
      pass ??= parsed.pass;
    }
    if (parsed.token !== undefined) token ??= parsed.token;
  }
  if (pass !== undefined && user === undefined) {
    throw new TypeError('options.password needs options.user (or NATS_USER)');
  }
  if (token !== undefined && user !== undefined) {
    throw new TypeError(
      'options.token and options.user/password are mutually exclusive; pick one way to authenticate',
    );
  }
  const name = optionalString('options.name', options.name);
  for (const s of [pass, token]) if (s) secrets.add(s);
  const connect: NodeConnectionOptions = { servers };
  if (user !== undefined) {
    connect.user = user;
    connect.pass = pass ?? '';
  }
  if (token !== undefined) connect.token = token;
  if (name !== undefined) connect.name = name;
  const tlsRequired = servers.some((url) => url.startsWith('tls:'));
  const tls = resolveNatsTls(options.tls, env, tlsRequired);
  if (tls !== undefined) connect.tls = tls;
  return { connect, display: display.join(','), secrets: [...secrets] };
}

/** Replaces every secret and every URL password in `text` with `***`. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)([^/@\s]+)@/gi, (_m, scheme, info) => {
    const colon = String(info).indexOf(':');
    return colon < 0 ? `${scheme}***@` : `${scheme}${String(info).slice(0, colon)}:***@`;
  });
  // Longest first, so a secret that contains another is replaced whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    if (s.length > 0) out = out.split(s).join('***');
  }
  return out;
}

/** True when `value` looks like a NatsConnection (duck-typed: several client copies may coexist). */
export function isNatsConnection(value: unknown): value is NatsConnection {
  const v = value as Partial<NatsConnection> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.publish === 'function' &&
    typeof v.subscribe === 'function' &&
    typeof v.status === 'function' &&
    typeof v.isClosed === 'function'
  );
}

interface ParsedServer {
  url: string;
  display: string;
  user?: string;
  pass?: string;
  token?: string;
}

function parseServer(what: string, raw: unknown): ParsedServer {
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new TypeError(`${what} must hold non-empty URL strings; got ${typeof raw}`);
  }
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `nats://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TypeError(`${what} holds an invalid URL: ${redactSecrets(text)}`);
  }
  if (!SCHEMES.has(url.protocol)) {
    throw new TypeError(
      `${what} must use nats:// or tls://; got ${url.protocol}// in ${redactSecrets(text)}`,
    );
  }
  if (!url.hostname) throw new TypeError(`${what} has no host: ${redactSecrets(text)}`);
  const hostPort = `${url.protocol}//${url.host}`;
  const out: ParsedServer = { url: hostPort, display: hostPort };
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  if (user && url.password !== '') {
    out.user = user;
    out.pass = pass;
    out.display = `${url.protocol}//${user}:***@${url.host}`;
  } else if (user) {
    // A lone userinfo part is a token, as in the Go client and the nats CLI.
    out.token = user;
    out.display = `${url.protocol}//***@${url.host}`;
  }
  return out;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function optionalString(what: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${what} must be a non-empty string`);
  }
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
