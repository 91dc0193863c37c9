import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Disconnected } from '../errors.js';
import { positiveNumber } from '../option-checks.js';
import {
  type NatsConnectOptions,
  type ResolvedNatsOptions,
  redactSecrets,
  resolveNatsOptions,
} from './options.js';

/** What {@link connectNats} returns: an open connection and how to talk about it. */
export interface RuntimeNats {
  readonly connection: NatsConnection;
  /** The servers without credentials. */
  readonly display: string;
  readonly secrets: readonly string[];
  /** Flushes and closes (bounded by 1 s). */
  close(): Promise<void>;
}

/** How eagerly {@link openNatsConnection} connects and watches the server. */
export interface ConnectionSettings {
  /** How long the first connection may take. */
  readonly timeoutMs: number;
  /** The client pings the server this often; a frozen server is found in 3×. */
  readonly pingIntervalMs: number;
  /** Who connects, for the `tier` of the error when it fails. */
  readonly tier: string;
}

/**
 * The one way andon opens a NATS connection (the runtime's, discovery's, the cli's task
 * store): reconnects forever (every 250 ± 100 ms) so it outlives server restarts, notices a
 * dead or frozen server within seconds instead of the default minutes, and fails with a
 * {@link Disconnected} that never holds a credential and says what to check over TLS.
 */
export async function openNatsConnection(
  resolved: ResolvedNatsOptions,
  settings: ConnectionSettings,
): Promise<NatsConnection> {
  try {
    return await connect({
      ...resolved.connect,
      timeout: settings.timeoutMs,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      pingInterval: settings.pingIntervalMs,
      maxPingOut: 3,
    });
  } catch (error) {
    let why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // The NATS client does not report a refused client certificate: the handshake looks
    // done, the server hangs up, and the client waits out its timeout.
    if (resolved.connect.tls && error instanceof Error && error.name === 'TimeoutError') {
      why += resolved.connect.tls.certFile
        ? '; over TLS, check that the server trusts the client certificate'
        : '; over TLS, the server may require a client certificate (natsTls.certFile and keyFile, or NATS_CERT and NATS_KEY)';
    }
    throw new Disconnected(
      redactSecrets(`cannot connect to NATS at ${resolved.display} (${why})`, resolved.secrets),
      { tier: settings.tier },
    );
  }
}

/**
 * Opens the NATS connection a runtime uses for its transport and discovery, with the
 * settings of {@link openNatsConnection}. Credentials come from the options or NATS_USER /
 * NATS_PASSWORD / NATS_TOKEN and never appear in errors.
 */
export async function connectNats(options: NatsConnectOptions = {}): Promise<RuntimeNats> {
  const resolved = resolveNatsOptions(options);
  const nc = await openNatsConnection(resolved, {
    timeoutMs: positiveNumber(
      'connectNats: options.connectTimeoutMs',
      options.connectTimeoutMs,
      5000,
    ),
    pingIntervalMs: positiveNumber(
      'connectNats: options.pingIntervalMs',
      options.pingIntervalMs,
      1500,
    ),
    tier: 'nats',
  });
  let closing: Promise<void> | undefined;
  return {
    connection: nc,
    display: resolved.display,
    secrets: resolved.secrets,
    close: () => {
      closing ??= (async () => {
        if (nc.isClosed()) return;
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => {
          timer = setTimeout(() => r('late'), 1000);
        });
        // drain() flushes what is queued (CLOSE messages); it can stall while the server is away.
        const drained = await Promise.race([
          nc.drain().then(
            () => 'ok' as const,
            () => 'ok' as const,
          ),
          late,
        ]);
        clearTimeout(timer);
        if (drained === 'late' && !nc.isClosed()) await nc.close().catch(() => {});
      })();
      return closing;
    },
  };
}
