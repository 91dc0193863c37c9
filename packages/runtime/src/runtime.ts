import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Client, type ClientHost } from './client.js';
import {
  checkName,
  type Discovery,
  type EndpointKey,
  endpointPath,
  type Instance,
  type Lease,
} from './discovery/discovery.js';
import { FileDiscovery } from './discovery/file.js';
import { MemoryDiscovery } from './discovery/memory.js';
import { Namespace, type ServedEndpoint } from './endpoint.js';
import { Disconnected } from './errors.js';
import type { RuntimeNats } from './nats/connect.js';
import { openNats } from './nats/open.js';
import { atMost, nonNegativeNumber, positiveInteger, positiveNumber } from './option-checks.js';
import {
  isDiscovery,
  type NatsModule,
  natsPrefixes,
  pickTransport,
  type ResolvedOptions,
  type RuntimeOptions,
  type ShutdownOptions,
} from './runtime-options.js';
import { CallerConnection } from './session/caller.js';
import type { Handler } from './session/handler.js';
import { defaultLogger, type Logger } from './session/logger.js';
import { ResponderConnection, type ResponderHost } from './session/responder.js';
import type { ServedStream } from './session/served-stream.js';
import { newStats, type RuntimeStats } from './session/stats.js';
import { limitWarnings } from './session/warning-limiter.js';
import { checkClock } from './time/check-clock.js';
import { steadyClock } from './time/steady-clock.js';
import type { ByteChannel, Transport } from './transports/transport.js';
import { DEFAULT_MAX_FRAME } from './wire/frame.js';
import { MAX_HEARTBEAT_MS } from './wire/payloads.js';

/**
 * One andon runtime per process (or several, for tests): it serves endpoints, calls
 * others, and carries stop, kill, deadlines and heartbeats between them.
 *
 * @example
 * const rt = await Runtime.start({ transport: 'tcp', discovery: 'file' });
 * const ep = rt.namespace('demo').component('server').endpoint('generate');
 * await ep.serve(async function* (request, ctx) {
 *   for (let i = 0; !ctx.isStopped(); i++) yield i;
 * });
 * const client = await ep.client();
 * await client.waitForInstances();
 * for await (const item of await client.generate({})) if (item === 3) break;
 * await rt.shutdown();
 */
export class Runtime {
  /** Unique id of this runtime instance, as published in discovery. */
  readonly instanceId: string;
  readonly #transport: Transport;
  readonly #discovery: Discovery;
  readonly #ownsDiscovery: boolean;
  readonly #options: ResolvedOptions;
  readonly #log: Logger;
  readonly #stats: RuntimeStats = newStats();
  readonly #handlers = new Map<string, { handler: Handler; tier: string }>();
  readonly #leases = new Map<string, Lease>();
  readonly #responders = new Set<ResponderConnection>();
  readonly #served = new Set<ServedStream>();
  readonly #callers = new Map<string, Promise<CallerConnection>>();
  /** The same connections once open, for what must be known without waiting. */
  readonly #openCallers = new Map<string, CallerConnection>();
  readonly #drained = new Set<string>();
  readonly #clients = new Set<Client>();
  #address: Promise<string> | undefined;
  // The address callers reach this runtime at, once listening (what the handshake binds).
  #listening: string | undefined;
  #shutdown: Promise<void> | undefined;
  #drainWaiters: Array<() => void> = [];
  #frameLimitLogged = false;
  readonly #nats: RuntimeNats | undefined;
  readonly #responderHost: ResponderHost;
  readonly #clientHost: ClientHost;

  private constructor(
    transport: Transport,
    discovery: Discovery,
    ownsDiscovery: boolean,
    options: ResolvedOptions,
    log: Logger,
    nats: RuntimeNats | undefined,
  ) {
    this.instanceId = randomBytes(6).toString('hex');
    this.#nats = nats;
    this.#transport = transport;
    this.#discovery = discovery;
    this.#ownsDiscovery = ownsDiscovery;
    this.#options = options;
    this.#log = limitWarnings(log.child({ instance: this.instanceId }), this.#stats);
    const served = this.#served;
    this.#responderHost = {
      handlerFor: (endpoint) => this.#handlers.get(endpoint)?.handler,
      tierOf: (endpoint) => this.#handlers.get(endpoint)?.tier ?? `${endpoint}@${this.instanceId}`,
      streamOpened: (stream) => {
        served.add(stream);
      },
      streamClosed: (stream) => {
        served.delete(stream);
        if (served.size === 0) for (const wake of this.#drainWaiters.splice(0)) wake();
      },
      maxStreams: options.maxStreams,
      contextClock: options.contextClock,
      get activeStreams() {
        return served.size;
      },
    };
    this.#clientHost = {
      transportName: transport.name,
      window: options.window,
      propagate: options.propagate,
      heartbeatMs: options.heartbeatMs,
      clock: options.clock,
      contextClock: options.contextClock,
      connect: (instance) => this.#connect(instance),
      clientClosed: (client) => {
        this.#clients.delete(client);
      },
    };
  }

  /** Starts a runtime. Nothing listens until the first `serve()`. */
  static async start(options: RuntimeOptions = {}): Promise<Runtime> {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('Runtime.start(options): options must be an object');
    const natsTransport = options.transport === 'nats';
    // The nats transport is built once the connection is open; the others right away.
    const picked = natsTransport ? undefined : pickTransport(options);
    const discoveryChoice =
      options.discovery ?? (natsTransport ? 'nats' : picked?.name === 'memory' ? 'memory' : 'file');
    if (
      discoveryChoice !== 'file' &&
      discoveryChoice !== 'memory' &&
      discoveryChoice !== 'nats' &&
      !isDiscovery(discoveryChoice)
    ) {
      throw new TypeError(
        `Runtime.start: options.discovery must be 'file', 'nats', 'memory' or a Discovery, got ${JSON.stringify(discoveryChoice)}`,
      );
    }
    const resolved: ResolvedOptions = {
      heartbeatMs: atMost(
        'Runtime.start: options.heartbeatMs',
        positiveNumber('Runtime.start: options.heartbeatMs', options.heartbeatMs, 1000),
        MAX_HEARTBEAT_MS,
      ),
      missedHeartbeats: positiveInteger(
        'Runtime.start: options.missedHeartbeats',
        options.missedHeartbeats,
        3,
      ),
      maxFrame: positiveInteger(
        'Runtime.start: options.maxFrame',
        options.maxFrame,
        DEFAULT_MAX_FRAME,
      ),
      window: positiveInteger('Runtime.start: options.window', options.window, 128),
      maxStreams: positiveInteger('Runtime.start: options.maxStreams', options.maxStreams, 10_000),
      maxConnections: positiveInteger(
        'Runtime.start: options.maxConnections',
        options.maxConnections,
        1024,
      ),
      // An empty variable (ANDON_TOKEN=) means none, as with the other variables.
      token: options.token ?? (process.env.ANDON_TOKEN || undefined),
      propagate: options.propagateCancellation ?? true,
      clock: checkClock(options.clock, 'Runtime.start: options.clock') ?? steadyClock,
      contextClock: options.clock,
    };
    if (typeof resolved.propagate !== 'boolean') {
      throw new TypeError('Runtime.start: options.propagateCancellation must be a boolean');
    }
    if (
      resolved.token !== undefined &&
      (typeof resolved.token !== 'string' || resolved.token.length === 0)
    ) {
      throw new TypeError('Runtime.start: options.token must be a non-empty string');
    }
    const log = options.logger ?? defaultLogger();
    const usesNats = natsTransport || discoveryChoice === 'nats';
    const prefixes = usesNats ? natsPrefixes(options) : undefined;
    let nats: { module: NatsModule; handle: RuntimeNats } | undefined;
    if (usesNats) nats = await openNats(options);
    try {
      if (nats !== undefined) {
        const prefixesUsed = [
          ...(natsTransport ? [prefixes!.transport] : []),
          ...(discoveryChoice === 'nats' ? [prefixes!.discovery] : []),
        ];
        await nats.module.checkNatsPermissions(
          nats.handle.connection,
          prefixesUsed,
          nats.handle.display,
        );
      }
      const transport =
        picked ??
        new nats!.module.NatsTransport({
          connection: nats!.handle.connection,
          subjectPrefix: prefixes!.transport,
          logger: log.child({ transport: 'nats' }),
          serverLabel: nats!.handle.display,
        });
      let discovery: Discovery;
      let owns = true;
      if (discoveryChoice === 'file')
        discovery = new FileDiscovery({
          ...(options.discoveryDir === undefined ? {} : { dir: options.discoveryDir }),
          ...(resolved.token === undefined ? {} : { token: resolved.token }),
          ...(options.clock === undefined ? {} : { clock: options.clock }),
        });
      else if (discoveryChoice === 'memory') discovery = new MemoryDiscovery();
      else if (discoveryChoice === 'nats')
        // Borrowed: discovery and transport share the runtime's one NATS connection.
        discovery = await nats!.module.NatsDiscovery.connect({
          connection: nats!.handle.connection,
          subjectPrefix: prefixes!.discovery,
          ...(options.clock === undefined ? {} : { clock: options.clock }),
          // Its warnings (already free of credentials) go where the runtime logs.
          onWarning: (warning) =>
            log.warn({ discovery: 'nats', code: warning.code }, warning.message),
        });
      else {
        discovery = discoveryChoice;
        owns = false;
      }
      return new Runtime(transport, discovery, owns, resolved, log, nats?.handle);
    } catch (error) {
      await nats?.handle.close();
      throw error;
    }
  }

  /** A namespace: the first part of an endpoint's path. */
  namespace(name: string): Namespace {
    return new Namespace(this, checkName('namespace', name));
  }

  /** Counters: connections, streams, protocol errors, cancellations by kind. */
  stats(): RuntimeStats {
    return structuredClone(this.#stats);
  }

  /** The transport's name (`tcp`, `memory`, …). */
  get transportName(): string {
    return this.#transport.name;
  }

  /** @internal For tests that simulate a frozen or crashed peer on the memory transport. */
  get transport(): Transport {
    return this.#transport;
  }

  /**
   * Leaves discovery first, stops accepting, lets in-flight streams finish within
   * `graceMs`, then stops them (kind `shutdown`), then kills what remains after
   * `stopGraceMs`. Closes every connection and timer. Idempotent.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.#shutdown ??= this.#runShutdown(
      nonNegativeNumber('shutdown: options.graceMs', options.graceMs, 5000),
      nonNegativeNumber('shutdown: options.stopGraceMs', options.stopGraceMs, 1000),
    );
    return this.#shutdown;
  }

  // ── serving ──

  /** @internal */
  async serve(key: EndpointKey, handler: Handler): Promise<ServedEndpoint> {
    if (typeof handler !== 'function')
      throw new TypeError('serve(handler): handler must be a function');
    this.#checkRunning();
    const path = endpointPath(key);
    if (this.#handlers.has(path)) throw new Error(`${path} is already served by this runtime`);
    const tier = `${key.namespace}/${key.component}@${this.instanceId}`;
    this.#handlers.set(path, { handler, tier });
    try {
      const address = await this.#listen();
      const instance: Instance = {
        ...key,
        instanceId: this.instanceId,
        transport: this.#transport.name,
        address,
        metadata: { pid: String(process.pid), hostname: hostname() },
      };
      const lease = await this.#discovery.register(instance);
      this.#leases.set(path, lease);
      return {
        instance,
        stop: async () => {
          this.#handlers.delete(path);
          this.#leases.delete(path);
          await lease.revoke();
        },
      };
    } catch (error) {
      this.#handlers.delete(path);
      throw error;
    }
  }

  #listen(): Promise<string> {
    if (this.#address !== undefined) return this.#address;
    this.#address = this.#transport.listen((channel) => {
      if (this.#shutdown) {
        channel.destroy();
        return;
      }
      if (this.#responders.size >= this.#options.maxConnections) {
        // Each connection may hold buffers and a handshake timer: past the bound, refuse.
        this.#stats.connectionsRefused++;
        this.#log.warn(
          { peer: channel.peer, maxConnections: this.#options.maxConnections },
          'too many connections: refusing one',
        );
        channel.destroy();
        return;
      }
      const responder = new ResponderConnection(
        channel,
        {
          ...this.#connectionOptions(channel),
          ...(this.#options.token === undefined ? {} : { token: this.#options.token }),
          // Known by now: connections arrive only after the listener announced its address.
          address: this.#listening ?? '',
        },
        this.#responderHost,
      );
      this.#responders.add(responder);
      responder.onClosed = () => this.#responders.delete(responder);
    });
    void this.#address.then(
      (address) => {
        this.#listening = address;
      },
      () => {},
    );
    return this.#address;
  }

  // ── calling ──

  /** @internal */
  async client<Req, Item>(key: EndpointKey): Promise<Client<Req, Item>> {
    this.#checkRunning();
    const client = new Client<Req, Item>(this.#clientHost, key);
    const watcher = await this.#discovery.watch(key, (change) => {
      if (change.type === 'added') client.instanceAdded();
      else client.instanceRemoved(change.instance, change.why, this.#callsSurvive(change));
    });
    client.attach(watcher);
    this.#clients.add(client as Client);
    return client;
  }

  /**
   * Whether calls in flight to an instance that left discovery may go on: it drained them
   * gracefully, or its lease lapsed while we are still hearing from it. A lease renewal can
   * be late for reasons that say nothing of the instance's health (its event loop busy, or
   * over NATS the renewal queued behind the very items it streams); a connection that
   * brought frames within the last heartbeat interval is proof of life, and its own
   * heartbeats still end the calls if the instance falls silent.
   */
  #callsSurvive(change: { instance: Instance; why: 'left' | 'expired' }): boolean {
    const address = change.instance.address;
    if (change.why === 'left') return this.#drained.has(address);
    return this.#openCallers.get(address)?.heardWithin(this.#options.heartbeatMs) ?? false;
  }

  #connect(instance: Instance): Promise<CallerConnection> {
    const address = instance.address;
    const pooled = this.#callers.get(address);
    if (pooled) return pooled;
    const opening = this.#transport.connect(address).then(async (channel) => {
      const connection = new CallerConnection(channel, {
        ...this.#connectionOptions(channel),
        ...(this.#options.token === undefined ? {} : { token: this.#options.token }),
        address,
      });
      this.#drained.delete(address);
      this.#openCallers.set(address, connection);
      const retire = () => {
        if (this.#callers.get(address) === opening) this.#callers.delete(address);
        if (this.#openCallers.get(address) === connection) this.#openCallers.delete(address);
      };
      connection.onRetire = () => {
        if (!connection.closed) this.#drained.add(address);
        retire();
      };
      connection.onClosed = retire;
      // With a secret, nothing is sent until the instance proved it holds it.
      await connection.ready;
      return connection;
    });
    this.#callers.set(address, opening);
    opening.catch(() => {
      if (this.#callers.get(address) === opening) this.#callers.delete(address);
    });
    return opening;
  }

  #connectionOptions(channel: ByteChannel) {
    return {
      instanceId: this.instanceId,
      heartbeatMs: this.#options.heartbeatMs,
      missedHeartbeats: this.#options.missedHeartbeats,
      clock: this.#options.clock,
      maxFrame: this.#frameLimit(channel),
      log: this.#log,
      stats: this.#stats,
    };
  }

  /**
   * The frame limit announced on a connection: `maxFrame`, or less when the channel's
   * carrier takes less (a NATS server's max_payload), so that an item too large for the
   * carrier fails its own stream with both sizes named instead of breaking the connection.
   */
  #frameLimit(channel: ByteChannel): number {
    const carrier = (channel as { readonly maxFrame?: unknown }).maxFrame;
    if (typeof carrier !== 'number' || carrier >= this.#options.maxFrame)
      return this.#options.maxFrame;
    if (!this.#frameLimitLogged) {
      this.#frameLimitLogged = true;
      this.#log.info(
        {
          maxFrame: this.#options.maxFrame,
          carrierLimit: carrier,
          transport: this.#transport.name,
        },
        'the transport carries smaller frames than maxFrame: items above its limit fail their stream',
      );
    }
    return Math.max(carrier, 64);
  }

  #checkRunning(): void {
    if (this.#shutdown) throw new Disconnected('this runtime is shutting down');
  }

  async #runShutdown(graceMs: number, stopGraceMs: number): Promise<void> {
    for (const responder of this.#responders) responder.goAway('shutting down');
    await Promise.allSettled([...this.#leases.values()].map((lease) => lease.revoke()));
    this.#leases.clear();
    this.#handlers.clear();
    await this.#transport.close();
    if (!(await this.#drain(graceMs))) {
      for (const stream of this.#served) stream.stopForShutdown('the instance is shutting down');
      if (!(await this.#drain(stopGraceMs))) {
        for (const stream of [...this.#served])
          stream.killForShutdown('the instance shut down before the stream finished');
      }
    }
    for (const client of [...this.#clients]) client.close();
    for (const responder of [...this.#responders]) responder.close(new Error('runtime shut down'));
    const callers = await Promise.allSettled([...this.#callers.values()]);
    for (const result of callers) {
      if (result.status === 'fulfilled')
        result.value.close(new Disconnected('the calling runtime shut down'));
    }
    this.#callers.clear();
    if (this.#ownsDiscovery) await this.#discovery.close();
    // Last: the NATS connection carried the goodbyes above (CLOSE messages, `left`).
    await this.#nats?.close();
  }

  /** Resolves true once no stream is being served, false after `ms`. */
  #drain(ms: number): Promise<boolean> {
    if (this.#served.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#drainWaiters = this.#drainWaiters.filter((w) => w !== wake);
        resolve(this.#served.size === 0);
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#drainWaiters.push(wake);
    });
  }
}
