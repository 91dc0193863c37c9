import { chmod, mkdir, readFile, stat, unlink } from 'node:fs/promises';
import { hostname as osHostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Clock, systemClock } from '@andon/context';
import { positiveNumber } from '../option-checks.js';
import { checkClock } from '../time/check-clock.js';
import { RepeatingTimer } from '../time/repeating-timer.js';
import { checkInstance, checkKey, checkListener } from './check.js';
import {
  type Discovery,
  type EndpointKey,
  endpointPath,
  type Instance,
  type InstanceChange,
  type Lease,
  type Watcher,
} from './discovery.js';
import { FileWatcher, type FileWatcherContext } from './file-watcher.js';
import {
  DIR_MODE,
  endpointDir,
  isStale,
  LEASE_FORMAT,
  type LeaseRecord,
  leaseFileName,
  leaseText,
  parseLease,
  writeAtomically,
} from './lease-file.js';
import { checkWarningHandler, type DiscoveryWarningHandler, safeWarn } from './warning.js';

/** Options for {@link FileDiscovery}. All are optional. */
export interface FileDiscoveryOptions {
  /**
   * The shared directory. Default: `$ANDON_DISCOVERY_DIR`, else `<os tmpdir>/andon-discovery`.
   * Every process that should find each other must use the same one.
   */
  dir?: string;
  /** How long a lease stays valid without renewal. Default 1500 ms. */
  leaseMs?: number;
  /** How often this process renews its leases. Default `leaseMs / 3`. */
  renewMs?: number;
  /** How often watchers rescan, the safety net behind fs.watch. Default 250 ms. */
  pollMs?: number;
  /** Where recoverable problems (garbage files, failed renewals) go. Default: process warnings. */
  onWarning?: DiscoveryWarningHandler;
  /**
   * The deployment's shared secret (the runtime passes its `token`). Leases are signed with
   * it, and leases not signed with it are ignored: a process without the secret cannot
   * draw calls to itself by planting a lease file.
   */
  token?: string;
  /**
   * The clock of renewals, polls and lease times. Its `now()` is written into leases and
   * compared with other processes' leases, so it must tell wall-clock epoch milliseconds.
   * Default `systemClock`; a `TestClock` makes leases renew and lapse only when a test
   * advances it.
   */
  clock?: Clock;
}

/** Counters of what a {@link FileDiscovery} recovered from. */
export interface FileDiscoveryStats {
  /** Lease files that could not be read or parsed (each distinct version counted once). */
  readonly badFiles: number;
  /** Stale leases this process deleted. */
  readonly staleRemoved: number;
  /** Renewals that failed (the lease is retried on the next beat). */
  readonly renewFailures: number;
}

/** The environment variable that sets the default directory. */
export const DISCOVERY_DIR_ENV = 'ANDON_DISCOVERY_DIR';

const DEFAULT_LEASE_MS = 1500;
const DEFAULT_POLL_MS = 250;

/**
 * Discovery through a directory of lease files: several processes on one host find each
 * other with no server. Each registered instance keeps
 * `<dir>/<namespace>/<component>/<endpoint>/<instanceId>.json`, rewritten atomically every
 * `renewMs`. A lease whose process is gone, or that was not renewed within `leaseMs`, is
 * ignored and deleted by whoever sees it first. Watchers see joins and leaves within about
 * `pollMs` (at once where fs.watch works) and a frozen process within `leaseMs + pollMs`.
 *
 * Timers and fs watchers never keep the process alive; `close()` revokes and stops them all.
 *
 * ```ts
 * const discovery = new FileDiscovery({ dir: '/tmp/my-app' });
 * const lease = await discovery.register({
 *   namespace: 'demo', component: 'server', endpoint: 'generate',
 *   instanceId: 'a1', transport: 'tcp', address: '127.0.0.1:41233',
 * });
 * // in another process, same dir:
 * const watcher = await new FileDiscovery({ dir: '/tmp/my-app' }).watch(
 *   { namespace: 'demo', component: 'server', endpoint: 'generate' },
 *   (change) => console.log(change.type, change.instance.address),
 * );
 * ```
 */
export class FileDiscovery implements Discovery {
  readonly dir: string;
  readonly leaseMs: number;
  readonly renewMs: number;
  readonly pollMs: number;
  readonly #warn: DiscoveryWarningHandler;
  readonly #token: string | undefined;
  #rootReady: Promise<void> | undefined;
  readonly #hostname = osHostname();
  readonly #leases = new Map<string, FileLease>();
  readonly #watchers = new Set<FileWatcher>();
  readonly #stats = { badFiles: 0, staleRemoved: 0, renewFailures: 0 };
  readonly #clock: Clock;
  #heartbeat: RepeatingTimer | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: FileDiscoveryOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('FileDiscovery options must be an object');
    }
    this.dir = resolve(pickDir(options.dir));
    this.leaseMs = positiveNumber(
      'new FileDiscovery: options.leaseMs',
      options.leaseMs,
      DEFAULT_LEASE_MS,
    );
    this.renewMs = positiveNumber(
      'new FileDiscovery: options.renewMs',
      options.renewMs,
      this.leaseMs / 3,
    );
    if (this.renewMs >= this.leaseMs) {
      throw new TypeError(
        `new FileDiscovery: options.renewMs (${this.renewMs}) must be less than leaseMs (${this.leaseMs}), or every lease would lapse between renewals`,
      );
    }
    this.pollMs = positiveNumber(
      'new FileDiscovery: options.pollMs',
      options.pollMs,
      DEFAULT_POLL_MS,
    );
    this.#warn = checkWarningHandler(options.onWarning);
    if (
      options.token !== undefined &&
      (typeof options.token !== 'string' || options.token.length === 0)
    ) {
      throw new TypeError('new FileDiscovery: options.token must be a non-empty string');
    }
    this.#token = options.token;
    this.#clock = checkClock(options.clock, 'new FileDiscovery: options.clock') ?? systemClock;
  }

  get stats(): FileDiscoveryStats {
    return { ...this.#stats };
  }

  async register(instance: Instance): Promise<Lease> {
    const checked = checkInstance(instance);
    this.#checkOpen();
    const dir = endpointDir(this.dir, checked);
    const name = leaseFileName(checked.instanceId);
    const file = join(dir, name);
    if (this.#leases.has(file)) throw alreadyRegistered(checked, `this process (${process.pid})`);
    await this.#secureRoot();
    const holder = await this.#liveHolder(file, checked);
    if (holder) throw alreadyRegistered(checked, holder);
    const lease = new FileLease(checked, dir, name, this);
    this.#leases.set(file, lease);
    try {
      await lease.write();
    } catch (error) {
      this.#leases.delete(file);
      throw error;
    }
    if (this.#closing) {
      await lease.revoke();
      this.#checkOpen();
    }
    this.#startHeartbeat();
    return lease;
  }

  async watch(key: EndpointKey, onChange: (change: InstanceChange) => void): Promise<Watcher> {
    const checked = checkKey(key);
    checkListener(onChange);
    this.#checkOpen();
    const context: FileWatcherContext = {
      hostname: this.#hostname,
      pollMs: this.pollMs,
      tempMaxAgeMs: Math.max(10 * this.leaseMs, 10_000),
      warn: this.#warn,
      stats: this.#stats,
      clock: this.#clock,
      secret: this.#token,
      rootReady: () => this.#secureRoot(),
    };
    const watcher = new FileWatcher(
      checked,
      endpointDir(this.dir, checked),
      onChange,
      context,
      (w) => this.#watchers.delete(w),
    );
    this.#watchers.add(watcher);
    try {
      await watcher.start();
      this.#checkOpen();
    } catch (error) {
      watcher.close();
      throw error;
    }
    return watcher;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const watchers = [...this.#watchers];
    for (const watcher of watchers) watcher.close();
    this.#stopHeartbeat();
    await Promise.all([...this.#leases.values()].map((lease) => lease.revoke()));
    // Let scans already under way finish, so nothing touches the directory afterwards.
    await Promise.all(watchers.map((watcher) => watcher.settled()));
  }

  /** @internal The text of `instance`'s lease as of now. */
  leaseText(instance: Instance): string {
    const record: LeaseRecord = {
      version: LEASE_FORMAT,
      instance,
      pid: process.pid,
      hostname: this.#hostname,
      leaseMs: this.leaseMs,
      renewedAt: this.#clock.now(),
    };
    return leaseText(record, this.#token);
  }

  /**
   * Creates the root directory for this user alone (0700), and refuses one that another
   * user owns: whoever can write in it can plant leases that draw calls to them.
   */
  #secureRoot(): Promise<void> {
    this.#rootReady ??= (async () => {
      await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
      const info = await stat(this.dir);
      const uid = process.getuid?.();
      if (uid !== undefined && info.uid !== uid) {
        throw new Error(
          `the discovery directory ${this.dir} belongs to user ${info.uid}, not to this user (${uid}): another user could plant leases in it; choose another directory (--discovery-dir or $${DISCOVERY_DIR_ENV})`,
        );
      }
      // Made by an older version, or by hand: close it to other users.
      if ((info.mode & 0o077) !== 0) await chmod(this.dir, DIR_MODE);
    })();
    // A failure is reported to the caller now and retried by the next one.
    this.#rootReady.catch(() => {
      this.#rootReady = undefined;
    });
    return this.#rootReady;
  }

  /** @internal */
  renewFailed(lease: FileLease, error: unknown, firstInARow: boolean): void {
    this.#stats.renewFailures++;
    if (!firstInARow) return;
    safeWarn(this.#warn, {
      code: 'renew-failed',
      message: `renewing the lease of ${endpointPath(lease.instance)} ${lease.instance.instanceId} failed; retrying every ${this.renewMs} ms`,
      path: lease.file,
      error,
    });
  }

  /** @internal */
  forget(lease: FileLease): void {
    this.#leases.delete(lease.file);
    if (this.#leases.size === 0) this.#stopHeartbeat();
  }

  /** Who holds a live lease on `file`, if anyone: a stale or unreadable one may be replaced. */
  async #liveHolder(file: string, instance: Instance): Promise<string | undefined> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const record = parseLease(text, instance, leaseFileName(instance.instanceId), this.#token);
      if (isStale(record, this.#clock.now(), this.#hostname)) return undefined;
      return `pid ${record.pid} on ${record.hostname}`;
    } catch {
      return undefined;
    }
  }

  #startHeartbeat(): void {
    if (this.#heartbeat || this.#leases.size === 0) return;
    this.#heartbeat = new RepeatingTimer(this.#clock, this.renewMs, () => {
      for (const lease of this.#leases.values()) lease.renew();
    });
  }

  #stopHeartbeat(): void {
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
  }

  #checkOpen(): void {
    if (this.#closing) throw new Error(`FileDiscovery on ${this.dir} is closed`);
  }
}

/** One registered instance's lease file and its renewals. */
class FileLease implements Lease {
  readonly file: string;
  #writing: Promise<void> | undefined;
  #revoking: Promise<void> | undefined;
  #failing = false;

  constructor(
    readonly instance: Instance,
    private readonly dir: string,
    private readonly name: string,
    private readonly owner: FileDiscovery,
  ) {
    this.file = join(dir, name);
  }

  write(): Promise<void> {
    return writeAtomically(this.file, this.dir, this.name, this.owner.leaseText(this.instance));
  }

  /**
   * Rewrites the lease with a fresh `renewedAt`. A rewrite rather than a touch, so that a
   * lease deleted while this process was frozen comes back on the first beat after it thaws.
   */
  renew(): void {
    if (this.#revoking || this.#writing) return;
    this.#writing = this.write().then(
      () => {
        this.#failing = false;
      },
      (error: unknown) => {
        this.owner.renewFailed(this, error, !this.#failing);
        this.#failing = true;
      },
    );
    void this.#writing.finally(() => {
      this.#writing = undefined;
    });
  }

  revoke(): Promise<void> {
    this.#revoking ??= this.#revoke();
    return this.#revoking;
  }

  async #revoke(): Promise<void> {
    // A renewal in flight would put the file back after the unlink: wait for it first.
    await this.#writing;
    this.owner.forget(this);
    try {
      await unlink(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

function pickDir(option: unknown): string {
  if (option !== undefined) {
    if (typeof option !== 'string' || option === '') {
      throw new TypeError(
        `new FileDiscovery: options.dir must be a non-empty string, got ${JSON.stringify(option)}`,
      );
    }
    return option;
  }
  const fromEnv = process.env[DISCOVERY_DIR_ENV];
  return fromEnv ? fromEnv : join(tmpdir(), 'andon-discovery');
}

function alreadyRegistered(instance: Instance, holder: string): Error {
  return new Error(
    `instance ${JSON.stringify(instance.instanceId)} is already registered for ${endpointPath(instance)} by ${holder}`,
  );
}
