import { randomUUID } from 'node:crypto';
import type { Clock } from '@andon/context';
import {
  createInbox,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { checkInstance, checkKey, checkListener } from '../discovery/check.js';
import {
  type Discovery,
  type EndpointKey,
  endpointPath,
  type Instance,
  type InstanceChange,
  type Lease,
  type Watcher,
} from '../discovery/discovery.js';
import {
  checkWarningHandler,
  type DiscoveryWarning,
  type DiscoveryWarningHandler,
  safeWarn,
} from '../discovery/warning.js';
import { Disconnected } from '../errors.js';
import { numberBetween, positiveNumber } from '../option-checks.js';
import { checkClock } from '../time/check-clock.js';
import { RepeatingTimer } from '../time/repeating-timer.js';
import { steadyClock } from '../time/steady-clock.js';
import { type Announcement, encodeLeft, encodeUp, type LeaseEntry } from './announcement.js';
import { openNatsConnection } from './connect.js';
import {
  announceSubject,
  DEFAULT_DISCOVERY_PREFIX,
  inboxPrefix,
  querySubject,
} from './discovery-subjects.js';
import { NatsWatcher } from './discovery-watcher.js';
import {
  isNatsConnection,
  type NatsConnectOptions,
  redactSecrets,
  resolveNatsOptions,
} from './options.js';
import { permissionAdvice, permissionRefusal } from './permissions.js';
import { checkSubjectPrefix } from './subject-prefix.js';

/** Options for {@link NatsDiscovery.connect}. */
export interface NatsDiscoveryOptions extends NatsConnectOptions {
  /**
   * Use this connection instead of opening one. It is not closed by `close()`, and
   * `servers`, `user`, `password`, `token` and `name` must then be left out.
   */
  connection?: NatsConnection;
  /**
   * An instance that has not been heard from for this long is reported `expired`.
   * Heartbeats go out every third of it. Default 1500 ms; at least 100.
   */
  leaseMs?: number;
  /** First tokens of every discovery subject. Default `andon.discovery`. */
  subjectPrefix?: string;
  /** Where recoverable problems go (bad messages, lost connection). Default: a process warning. */
  onWarning?: DiscoveryWarningHandler;
  /**
   * The clock of heartbeats and expiry. Silences are measured on this process's clock only
   * (announcements carry no times), so by default a monotonic one; a `TestClock` makes
   * leases renew and expire only when a test advances it. The initial query's short waits
   * for replies stay on real time: they bound a network round trip.
   */
  clock?: Clock;
}

const DEFAULT_LEASE_MS = 1500;
/** After the last reply to a query, wait this long for more before calling the view complete. */
const QUERY_SETTLE_MS = 75;
/** A query never holds `watch()` up for longer than this. */
const QUERY_MAX_MS = 1000;
/** Revoke and close wait at most this long for the server to confirm. */
const FLUSH_MAX_MS = 1000;
const OWN_OPTION_KEYS = ['servers', 'user', 'password', 'token', 'name'] as const;

interface LocalKey {
  readonly key: EndpointKey;
  readonly leases: Map<string, NatsLease>;
  readonly query: Subscription;
}

/**
 * Discovery across hosts over core NATS (nats-server 2.9+; no JetStream, no per-key TTLs).
 *
 * Each registered instance is announced on `<prefix>.v1.ann.<ns>.<component>.<endpoint>`
 * at once and then every `leaseMs / 3`; watchers report it `expired` after `leaseMs` of
 * silence, so a SIGKILLed or cut-off process disappears without anyone's help. `revoke()`
 * sends an explicit `left`. A new watcher asks `<prefix>.v1.query.…` and every holder
 * replies, so it learns the current instances at once. After a reconnect, heartbeats
 * resume and watchers ask again; while this process is disconnected nothing expires,
 * since silence then says nothing about the others.
 *
 * @example
 * const discovery = await NatsDiscovery.connect({ servers: 'nats://127.0.0.1:4222' });
 * const lease = await discovery.register({
 *   namespace: 'demo', component: 'server', endpoint: 'generate',
 *   instanceId: 'a1', transport: 'nats', address: 'a1',
 * });
 * const watcher = await discovery.watch(
 *   { namespace: 'demo', component: 'server', endpoint: 'generate' },
 *   (change) => console.log(change.type, change.instance.instanceId),
 * );
 * watcher.instances; // [the a1 instance]
 * await discovery.close(); // revokes a1, stops the watcher, closes the connection
 */
export class NatsDiscovery implements Discovery {
  /** The connection in use (owned or borrowed). */
  readonly connection: NatsConnection;
  readonly leaseMs: number;
  readonly subjectPrefix: string;
  readonly #owned: boolean;
  readonly #warn: DiscoveryWarningHandler;
  readonly #secrets: readonly string[];
  readonly #local = new Map<string, LocalKey>();
  readonly #watchers = new Set<NatsWatcher>();
  readonly #status: AsyncIterable<unknown>;
  readonly #clock: Clock;
  #heartbeat: RepeatingTimer | undefined;
  #sweep: RepeatingTimer | undefined;
  #connected = true;
  #closing: Promise<void> | undefined;

  /**
   * Connects (or adopts `options.connection`) and returns a discovery. Throws a TypeError
   * naming a bad option, or {@link Disconnected} when the server cannot be reached; neither
   * message ever holds a password or token.
   *
   * @example
   * const discovery = await NatsDiscovery.connect(); // ANDON_NATS_URL, NATS_URL, NATS_USER…
   */
  static async connect(options: NatsDiscoveryOptions = {}): Promise<NatsDiscovery> {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('NatsDiscovery options must be an object');
    }
    const leaseMs = numberBetween(
      'NatsDiscovery.connect: options.leaseMs',
      options.leaseMs,
      DEFAULT_LEASE_MS,
      100,
      3_600_000,
    );
    const prefix = checkSubjectPrefix(options.subjectPrefix ?? DEFAULT_DISCOVERY_PREFIX);
    const warn = checkWarningHandler(options.onWarning);
    const clock = checkClock(options.clock, 'NatsDiscovery.connect: options.clock') ?? steadyClock;
    const timeout = positiveNumber(
      'NatsDiscovery.connect: options.connectTimeoutMs',
      options.connectTimeoutMs,
      5000,
    );
    if (options.connection !== undefined) {
      if (!isNatsConnection(options.connection)) {
        throw new TypeError(
          'options.connection must be a NatsConnection from @nats-io/transport-node',
        );
      }
      for (const k of OWN_OPTION_KEYS) {
        if (options[k] !== undefined) {
          throw new TypeError(`options.${k} cannot be combined with options.connection`);
        }
      }
      if (options.connection.isClosed()) throw new TypeError('options.connection is closed');
      return new NatsDiscovery(options.connection, false, leaseMs, prefix, warn, [], clock);
    }
    const resolved = resolveNatsOptions(options);
    const nc = await openNatsConnection(resolved, {
      timeoutMs: timeout,
      pingIntervalMs: positiveNumber(
        'NatsDiscovery.connect: options.pingIntervalMs',
        options.pingIntervalMs,
        Math.max(1000, leaseMs),
      ),
      tier: 'nats-discovery',
    });
    return new NatsDiscovery(nc, true, leaseMs, prefix, warn, resolved.secrets, clock);
  }

  private constructor(
    nc: NatsConnection,
    owned: boolean,
    leaseMs: number,
    prefix: string,
    warn: DiscoveryWarningHandler,
    secrets: readonly string[],
    clock: Clock,
  ) {
    this.connection = nc;
    this.#clock = clock;
    this.#owned = owned;
    this.leaseMs = leaseMs;
    this.subjectPrefix = prefix;
    this.#warn = warn;
    this.#secrets = secrets;
    this.#status = nc.status();
    void this.#followStatus();
    nc.closed().then(
      () => this.#connectionClosed(),
      () => this.#connectionClosed(),
    );
  }

  async register(instance: Instance): Promise<Lease> {
    const checked = checkInstance(instance);
    this.#checkOpen();
    const path = endpointPath(checked);
    let local = this.#local.get(path);
    if (local?.leases.has(checked.instanceId)) {
      throw new Error(
        `instance ${JSON.stringify(checked.instanceId)} is already registered for ${path}`,
      );
    }
    if (!local) {
      const key = checkKey(checked);
      const query = this.connection.subscribe(querySubject(this.subjectPrefix, key), {
        callback: (err, msg) => {
          if (err) this.#refused('renew-failed', `cannot answer queries for ${path}`, err);
          else this.#answer(path, msg);
        },
      });
      local = { key, leases: new Map(), query };
      this.#local.set(path, local);
    }
    const lease = new NatsLease({ lease: randomUUID(), instance: checked }, (l) => this.#revoke(l));
    local.leases.set(checked.instanceId, lease);
    const up: Announcement = { kind: 'up', leaseMs: this.leaseMs, leases: [lease.entry] };
    for (const w of this.#watchersOf(path)) w.apply(up);
    this.#publish(
      announceSubject(this.subjectPrefix, checked),
      encodeUp(this.leaseMs, [lease.entry]),
    );
    this.#heartbeat ??= new RepeatingTimer(this.#clock, Math.max(10, this.leaseMs / 3), () =>
      this.#beat(),
    );
    // Once the server has the query subscription and the announcement, a watcher that
    // starts after this resolves finds the instance at once, not at the next heartbeat.
    await this.#flush();
    return lease;
  }

  async watch(key: EndpointKey, onChange: (change: InstanceChange) => void): Promise<Watcher> {
    const checked = checkKey(key);
    checkListener(onChange);
    this.#checkOpen();
    const watcher = new NatsWatcher(checked, onChange, this.#warn, this.#clock, (w) =>
      this.#watcherClosed(w),
    );
    // Subscribe before asking, so no join can fall between the answer and the stream.
    watcher.subscription = this.connection.subscribe(announceSubject(this.subjectPrefix, checked), {
      callback: (err, msg) => {
        if (err) this.#refused('watch-failed', `cannot watch ${endpointPath(checked)}`, err);
        else watcher.receive(msg);
      },
    });
    this.#watchers.add(watcher);
    this.#sweep ??= new RepeatingTimer(
      this.#clock,
      Math.max(25, Math.min(250, this.leaseMs / 6)),
      () => this.#expire(),
    );
    const local = this.#local.get(endpointPath(checked));
    if (local) {
      watcher.apply({
        kind: 'up',
        leaseMs: this.leaseMs,
        leases: [...local.leases.values()].map((l) => l.entry),
      });
    }
    await this.#query(watcher);
    watcher.start();
    return watcher;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#stopTimers();
    (this.#status as { stop?: () => void }).stop?.();
    for (const w of [...this.#watchers]) w.close();
    const open = !this.connection.isClosed();
    for (const local of this.#local.values()) {
      const entries = [...local.leases.values()].map((l) => l.entry);
      for (const lease of local.leases.values()) lease.revoked = true;
      local.leases.clear();
      if (open) {
        this.#publish(announceSubject(this.subjectPrefix, local.key), encodeLeft(entries));
        local.query.unsubscribe();
      }
    }
    this.#local.clear();
    if (!open) return;
    if (this.#owned) {
      // drain() flushes the `left` messages; it can stall while the server is away.
      const drained = await bounded(this.connection.drain(), FLUSH_MAX_MS);
      if (!drained && !this.connection.isClosed()) await this.connection.close();
    } else {
      await this.#flush();
    }
  }

  async #revoke(lease: NatsLease): Promise<void> {
    const path = endpointPath(lease.entry.instance);
    const local = this.#local.get(path);
    if (!local || local.leases.get(lease.entry.instance.instanceId) !== lease) return;
    local.leases.delete(lease.entry.instance.instanceId);
    if (local.leases.size === 0) {
      this.#local.delete(path);
      if (!this.connection.isClosed()) local.query.unsubscribe();
    }
    if (this.#local.size === 0) {
      this.#heartbeat?.stop();
      this.#heartbeat = undefined;
    }
    const left: Announcement = {
      kind: 'left',
      leases: [{ lease: lease.entry.lease, instanceId: lease.entry.instance.instanceId }],
    };
    for (const w of this.#watchersOf(path)) w.apply(left);
    this.#publish(announceSubject(this.subjectPrefix, local.key), encodeLeft([lease.entry]));
    await this.#flush();
  }

  #beat(): void {
    if (!this.#connected) return; // buffered heartbeats would only pile up while away
    for (const local of this.#local.values()) {
      const entries = [...local.leases.values()].map((l) => l.entry);
      this.#publish(
        announceSubject(this.subjectPrefix, local.key),
        encodeUp(this.leaseMs, entries),
      );
    }
  }

  #answer(path: string, msg: Msg): void {
    const local = this.#local.get(path);
    if (!local || !msg.reply || local.leases.size === 0) return;
    const entries = [...local.leases.values()].map((l) => l.entry);
    this.#publish(msg.reply, encodeUp(this.leaseMs, entries));
  }

  /** Asks every holder of the watcher's endpoint; resolves once answers stop coming. */
  #query(watcher: NatsWatcher): Promise<void> {
    if (!this.#connected || this.connection.isClosed()) return Promise.resolve();
    return new Promise((resolve) => {
      let settle: NodeJS.Timeout | undefined;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(settle);
        clearTimeout(cap);
        sub.unsubscribe();
        resolve();
      };
      const cap = setTimeout(finish, QUERY_MAX_MS);
      // An inbox under the prefix, not `_INBOX.`: the prefix is then all a NATS user needs.
      const sub = this.connection.subscribe(createInbox(inboxPrefix(this.subjectPrefix)), {
        callback: (err, msg) => {
          // 503: nobody holds a lease on this endpoint, so the answer is complete now.
          if (err || msg.headers?.status === '503' || watcher.closed || done) return finish();
          watcher.receive(msg);
          clearTimeout(settle);
          settle = setTimeout(finish, QUERY_SETTLE_MS);
        },
      });
      try {
        this.connection.publish(querySubject(this.subjectPrefix, watcher.key), undefined, {
          reply: sub.getSubject(),
        });
      } catch (error) {
        this.#warning('watch-failed', `cannot query ${endpointPath(watcher.key)}`, error);
        finish();
      }
    });
  }

  #expire(): void {
    if (!this.#connected) return;
    const now = this.#clock.now();
    for (const w of this.#watchers) w.expire(now);
  }

  async #followStatus(): Promise<void> {
    try {
      for await (const s of this.#status as AsyncIterable<{ type: string; server?: string }>) {
        if (s.type === 'disconnect' && this.#connected) {
          this.#connected = false;
          this.#warning(
            'renew-failed',
            `lost the NATS connection to ${s.server ?? 'the server'}; leases are not renewed and nothing expires until it is back`,
          );
        } else if (s.type === 'reconnect') {
          this.#resync();
        } else if (s.type === 'error') {
          const refusal = permissionRefusal((s as { error?: unknown }).error);
          if (
            refusal?.operation === 'publish' &&
            refusal.subject.startsWith(`${this.subjectPrefix}.`)
          ) {
            this.#refused('renew-failed', `cannot announce on ${refusal.subject}`, refusal);
          }
        }
      }
    } catch (error) {
      this.#warning('watch-failed', 'the NATS status stream failed', error);
    }
  }

  /** After a reconnect: re-announce at once, give everyone a fresh lease, ask again. */
  #resync(): void {
    this.#connected = true;
    if (this.#closing) return;
    this.#warning(
      'renew-failed',
      'NATS connection restored; re-announcing leases and re-reading watchers',
    );
    this.#beat();
    const now = this.#clock.now();
    for (const w of this.#watchers) {
      w.extend(now);
      void this.#query(w);
    }
  }

  #connectionClosed(): void {
    if (this.#closing) return;
    this.#stopTimers();
    this.#warning(
      'watch-failed',
      'the NATS connection closed; every watched instance is reported expired',
    );
    for (const w of this.#watchers) w.expire(Number.POSITIVE_INFINITY);
  }

  #publish(subject: string, data: Uint8Array): void {
    if (this.connection.isClosed()) return; // already reported by #connectionClosed
    try {
      this.connection.publish(subject, data);
    } catch (error) {
      this.#warning('renew-failed', `cannot publish on ${subject}`, error);
    }
  }

  async #flush(): Promise<void> {
    if (!this.#connected || this.connection.isClosed()) return;
    await bounded(this.connection.flush(), FLUSH_MAX_MS);
  }

  *#watchersOf(path: string): Iterable<NatsWatcher> {
    for (const w of this.#watchers) if (w.path === path) yield w;
  }

  #watcherClosed(watcher: NatsWatcher): void {
    this.#watchers.delete(watcher);
    if (!this.connection.isClosed()) watcher.subscription?.unsubscribe();
    if (this.#watchers.size === 0) {
      this.#sweep?.stop();
      this.#sweep = undefined;
    }
  }

  #stopTimers(): void {
    this.#heartbeat?.stop();
    this.#sweep?.stop();
    this.#heartbeat = this.#sweep = undefined;
  }

  #checkOpen(): void {
    if (this.#closing) throw new Error('NatsDiscovery is closed');
    if (this.connection.isClosed())
      throw new Disconnected('the NATS connection is closed', { tier: 'nats-discovery' });
  }

  /** A subscription or publish the server refused: says what to grant when it is about permissions. */
  #refused(code: DiscoveryWarning['code'], message: string, error: unknown): void {
    const advice = permissionRefusal(error) ? `; ${permissionAdvice([this.subjectPrefix])}` : '';
    this.#warning(code, `${message}: NATS refused it${advice}`, error);
  }

  #warning(code: DiscoveryWarning['code'], message: string, error?: unknown): void {
    const text = redactSecrets(
      error instanceof Error
        ? `nats discovery: ${message}: ${error.message}`
        : `nats discovery: ${message}`,
      this.#secrets,
    );
    // The raw error is left out: its fields may hold what the text had to hide.
    safeWarn(this.#warn, { code, message: text });
  }
}

class NatsLease implements Lease {
  revoked = false;
  constructor(
    readonly entry: LeaseEntry,
    private readonly onRevoke: (lease: NatsLease) => Promise<void>,
  ) {}

  async revoke(): Promise<void> {
    if (this.revoked) return;
    this.revoked = true;
    await this.onRevoke(this);
  }
}

/** Resolves true if `p` settles within `ms`, false otherwise; never rejects. */
async function bounded(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
