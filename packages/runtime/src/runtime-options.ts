import type { Clock } from '@andon/context';
import type { Discovery } from './discovery/discovery.js';
import { checkSubjectPrefix } from './nats/subject-prefix.js';
import type { NatsTlsFiles } from './nats/tls.js';
import type { Logger } from './session/logger.js';
import { MemoryTransport } from './transports/memory.js';
import { TcpTransport } from './transports/tcp.js';
import type { Transport } from './transports/transport.js';

// What Runtime.start accepts, and the checks that turn it into settings: every bad option
// is a TypeError naming it, before anything listens or connects.

/** Options of {@link Runtime.start}. All are optional. */
export interface RuntimeOptions {
  /**
   * `tcp` (default: processes on one or many hosts), `nats` (many hosts through a
   * nats-server 2.9+; see `natsUrl`), `memory` (one process), or your own.
   */
  transport?: 'tcp' | 'nats' | 'memory' | Transport;
  /**
   * `file` (default with tcp), `nats` (default with nats), `memory` (default with memory),
   * or your own Discovery.
   */
  discovery?: 'file' | 'nats' | 'memory' | Discovery;
  /**
   * NATS server URL(s) for the nats transport and discovery, e.g. `nats://10.0.0.5:4222`.
   * Default `$ANDON_NATS_URL`, then `$NATS_URL`, then `nats://127.0.0.1:4222`.
   * The NATS client is loaded only when one of them uses NATS.
   */
  natsUrl?: string | readonly string[];
  /** NATS user. Default `$NATS_USER`. Never logged. */
  natsUser?: string;
  /** NATS password (needs `natsUser`). Default `$NATS_PASSWORD`. Never logged. */
  natsPassword?: string;
  /** NATS token (instead of user and password). Default `$NATS_TOKEN`. Never logged. */
  natsToken?: string;
  /**
   * TLS to NATS: `caFile`, `certFile`, `keyFile` (PEM paths), each defaulting to
   * `$NATS_CA`, `$NATS_CERT`, `$NATS_KEY`. Any of them, or a `tls://` URL, makes TLS
   * required. See {@link NatsTlsFiles}.
   */
  natsTls?: NatsTlsFiles;
  /**
   * First subject token of everything this runtime sends over NATS: runtimes see each
   * other only when they share it, so several deployments can share one nats-server.
   * Discovery uses `<natsPrefix>.discovery`. Default `$ANDON_NATS_PREFIX`, else `andon`.
   */
  natsPrefix?: string;
  /** Where the tcp transport listens. Default 127.0.0.1. */
  host?: string;
  /**
   * The host other processes reach this instance at, published in discovery. Default: the
   * listening host; for 0.0.0.0 or ::, this machine's first external IPv4 address.
   */
  advertise?: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /**
   * Shared secret of the deployment. Both sides of every connection prove they hold it
   * (HMAC challenge and response; the secret never crosses the wire), a caller sends no
   * request to a peer that cannot, and file-discovery leases are signed with it. Default
   * `$ANDON_TOKEN`; without one, any local process may call this runtime's endpoints.
   */
  token?: string;
  /** Directory for file discovery. Default `$ANDON_DISCOVERY_DIR` or the OS temp dir. */
  discoveryDir?: string;
  /** Heartbeat interval. Default 1000 ms. */
  heartbeatMs?: number;
  /** Silent intervals after which a peer is lost. Default 3. */
  missedHeartbeats?: number;
  /** Largest frame accepted, bytes. Default 1 MiB. */
  maxFrame?: number;
  /** Items a caller accepts ahead of its consumer, per stream (credit window). Default 128. */
  window?: number;
  /** Streams this instance serves at once before answering Overloaded. Default 10 000. */
  maxStreams?: number;
  /**
   * Connections this instance accepts at once; one more is closed at once (and counted in
   * `stats().connectionsRefused`). Default 1 024.
   */
  maxConnections?: number;
  /**
   * The clock the runtime keeps time by: heartbeats and the silences that end a connection,
   * the handshake timeout, the pause before retrying an instance that refused, and (for the
   * discovery the runtime creates) lease renewal and expiry. Handlers' contexts and the
   * contexts calls make for themselves use it too. Pass a `TestClock` to drive all of these
   * from a test without waiting. Default: real time, with silences measured on a monotonic
   * clock so that a wall-clock step does not look like a lost peer.
   *
   * Not driven by it: `waitForInstances` and shutdown grace (bounds a person waits on), and
   * the sockets' and the NATS client's own network timeouts.
   *
   * @example
   * const clock = new TestClock(Date.now());
   * const rt = await Runtime.start({ transport: 'memory', clock });
   * clock.advance(3_500); // three heartbeats of silence have now passed, for rt
   */
  clock?: Clock;
  /** Structured logger (pino-compatible). Default: JSON on stderr at `$ANDON_LOG_LEVEL`. */
  logger?: Logger;
  /**
   * `true` (default): a caller's stop and kill travel to the callee. `false`: a caller that
   * stops or leaves only detaches: the remote work runs to its end and its items are read
   * and dropped, as in systems without cancellation propagation. For comparisons only.
   */
  propagateCancellation?: boolean;
}

/** Options of {@link Runtime.shutdown}. */
export interface ShutdownOptions {
  /** How long in-flight streams may run to completion. Default 5000 ms. */
  graceMs?: number;
  /** After the grace period, how long stopped handlers get before they are killed. Default 1000 ms. */
  stopGraceMs?: number;
}

/** @internal The options after defaults and checks. */
export interface ResolvedOptions {
  heartbeatMs: number;
  missedHeartbeats: number;
  maxFrame: number;
  window: number;
  maxStreams: number;
  maxConnections: number;
  token: string | undefined;
  propagate: boolean;
  /** Times heartbeats, silences and pauses. */
  clock: Clock;
  /** The `clock` option as given: contexts and discovery keep their own default without one. */
  contextClock: Clock | undefined;
}

export function pickTransport(options: RuntimeOptions): Transport {
  const choice = options.transport ?? 'tcp';
  if (choice === 'tcp') {
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new TypeError(
        `Runtime.start: options.port must be an integer 0-65535, got ${JSON.stringify(options.port)}`,
      );
    }
    if (
      options.host !== undefined &&
      (typeof options.host !== 'string' || options.host.length === 0)
    ) {
      throw new TypeError('Runtime.start: options.host must be a non-empty string');
    }
    if (
      options.advertise !== undefined &&
      (typeof options.advertise !== 'string' || !/^[^\s/]+$/.test(options.advertise))
    ) {
      throw new TypeError(
        'Runtime.start: options.advertise must be a host name or IP address, without a port',
      );
    }
    return new TcpTransport(options.host ?? '127.0.0.1', port, options.advertise);
  }
  if (choice === 'memory') return new MemoryTransport();
  // 'nats' is built in Runtime.start once its connection is open.
  if (
    typeof choice === 'object' &&
    choice !== null &&
    typeof choice.listen === 'function' &&
    typeof choice.connect === 'function'
  ) {
    return choice;
  }
  throw new TypeError(
    `Runtime.start: options.transport must be 'tcp', 'nats', 'memory' or a Transport, got ${JSON.stringify(choice)}`,
  );
}

export type NatsModule = typeof import('./nats/internal.js');

/** The subject prefixes of the nats transport and of NATS discovery, from `natsPrefix`. */
export function natsPrefixes(options: RuntimeOptions): { transport: string; discovery: string } {
  const fromEnv = options.natsPrefix === undefined;
  const prefix = fromEnv ? process.env.ANDON_NATS_PREFIX || 'andon' : options.natsPrefix;
  const what = fromEnv ? 'ANDON_NATS_PREFIX' : 'Runtime.start: options.natsPrefix';
  const transport = checkSubjectPrefix(prefix, what);
  return { transport, discovery: checkSubjectPrefix(`${transport}.discovery`, what) };
}

export function isDiscovery(value: unknown): value is Discovery {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Discovery).register === 'function' &&
    typeof (value as Discovery).watch === 'function'
  );
}
