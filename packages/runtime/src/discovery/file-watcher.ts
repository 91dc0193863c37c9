import { type FSWatcher, watch as fsWatch } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '@andon/context';
import { RepeatingTimer } from '../time/repeating-timer.js';
import { sameInstance } from './check.js';
import {
  type EndpointKey,
  endpointPath,
  type Instance,
  type InstanceChange,
  type Watcher,
} from './discovery.js';
import {
  DIR_MODE,
  isLeaseFileName,
  isStale,
  isTempFileName,
  isTombstoneName,
  type LeaseRecord,
  parseLease,
  tombstoneName,
} from './lease-file.js';
import { InstanceView } from './view.js';
import { type DiscoveryWarningHandler, safeWarn } from './warning.js';

/** What the watcher needs from its FileDiscovery. */
export interface FileWatcherContext {
  readonly hostname: string;
  readonly pollMs: number;
  /** Temp files and tombstones older than this are left over and removed. */
  readonly tempMaxAgeMs: number;
  readonly warn: DiscoveryWarningHandler;
  readonly stats: { badFiles: number; staleRemoved: number };
  /** Times polls and decides which leases are stale (the discovery's `clock`). */
  readonly clock: Clock;
  /** The shared secret: leases not signed with it are ignored. */
  readonly secret: string | undefined;
  /** Resolves once the discovery root exists and is this user's alone. */
  readonly rootReady: () => Promise<void>;
}

type Observation =
  | { readonly kind: 'gone'; readonly expired: boolean }
  | {
      readonly kind: 'bad';
      readonly sig: string;
      readonly reason: string;
      readonly error?: unknown;
    }
  | {
      readonly kind: 'lease';
      readonly sig: string;
      readonly ino: number;
      readonly record: LeaseRecord;
    };

type CacheEntry = Exclude<Observation, { kind: 'gone' }>;

/** How many files one scan stats and reads at a time (keeps far below the fd limit). */
const SCAN_BATCH = 64;

/**
 * Watches one endpoint directory. fs.watch makes joins and revokes show at once; the poll
 * is the safety net (fs.watch misses events on some filesystems and cannot see a lease go
 * stale) and the only place staleness is judged for leases nobody touches.
 *
 * All I/O runs in one serial loop, so changes are reported in the order they were observed.
 */
export class FileWatcher implements Watcher {
  readonly #view: InstanceView;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #pending = new Set<string>();
  #fullScanDue = false;
  #running = false;
  #idle: Promise<void> = Promise.resolve();
  #fsWatcher: FSWatcher | undefined;
  #dirIno: number | undefined;
  #poll: RepeatingTimer | undefined;
  #watchWarned = false;

  constructor(
    readonly key: EndpointKey,
    private readonly dir: string,
    onChange: (change: InstanceChange) => void,
    private readonly ctx: FileWatcherContext,
    private readonly onClosed: (watcher: FileWatcher) => void,
  ) {
    this.#view = new InstanceView(key, onChange, ctx.warn);
  }

  get instances(): readonly Instance[] {
    return this.#view.instances;
  }

  /** Takes the initial set (reported as `instances`, not as changes), then starts watching. */
  async start(): Promise<void> {
    // Events arriving during the first scan wait for it, then run in the loop.
    this.#running = true;
    const first = this.#initialScan();
    this.#idle = first.catch(() => {});
    try {
      await first;
    } finally {
      this.#running = false;
    }
    if (this.#view.closed) return;
    if (this.#pending.size > 0 || this.#fullScanDue) this.#schedule(null);
    this.#poll = new RepeatingTimer(this.ctx.clock, this.ctx.pollMs, () => this.#schedule(null));
  }

  close(): void {
    if (this.#view.closed) return;
    this.#view.close();
    this.#poll?.stop();
    this.#stopFsWatch();
    this.#pending.clear();
    this.onClosed(this);
  }

  async #initialScan(): Promise<void> {
    await this.ctx.rootReady();
    await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
    await this.#fullScan(true);
  }

  /** Resolves when the I/O loop has nothing left to do (for close and tests). */
  settled(): Promise<void> {
    return this.#idle;
  }

  #schedule(name: string | null): void {
    if (this.#view.closed) return;
    if (name === null) this.#fullScanDue = true;
    else this.#pending.add(name);
    if (this.#running) return;
    this.#running = true;
    this.#idle = this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (!this.#view.closed && (this.#fullScanDue || this.#pending.size > 0)) {
        if (this.#fullScanDue) {
          this.#fullScanDue = false;
          this.#pending.clear();
          await this.#fullScan(false);
        } else {
          const names = [...this.#pending];
          this.#pending.clear();
          await this.#check(names);
        }
      }
    } catch (error) {
      safeWarn(this.ctx.warn, {
        code: 'scan-failed',
        message: `scanning ${this.dir} failed`,
        path: this.dir,
        error,
      });
    } finally {
      this.#running = false;
    }
  }

  async #fullScan(initial: boolean): Promise<void> {
    let names: string[];
    try {
      await this.#ensureFsWatch();
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // Someone removed the directory: every lease in it is gone. Recreate it so that
      // watching (and the owners' next renewals) carry on.
      names = [];
      if (!this.#view.closed) await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
    }
    const leases: string[] = [];
    const temps: string[] = [];
    for (const name of names) {
      if (isLeaseFileName(name)) leases.push(name);
      else if (isTempFileName(name) || isTombstoneName(name)) temps.push(name);
    }
    const present = new Set(leases);
    for (const name of this.#cache.keys()) if (!present.has(name)) leases.push(name);
    await this.#check(leases, initial);
    if (temps.length > 0) await this.#removeLeftovers(temps);
  }

  async #check(names: string[], initial = false): Promise<void> {
    for (let at = 0; at < names.length; at += SCAN_BATCH) {
      const batch = names.slice(at, at + SCAN_BATCH);
      const seen = await Promise.all(batch.map((name) => this.#observe(name)));
      if (this.#view.closed) return;
      const stale: Array<Promise<void>> = [];
      batch.forEach((name, i) => {
        const removal = this.#apply(name, seen[i]!, initial);
        if (removal) stale.push(removal);
      });
      await Promise.all(stale);
    }
  }

  async #observe(name: string): Promise<Observation> {
    const file = join(this.dir, name);
    try {
      const info = await stat(file);
      if (!info.isFile()) return { kind: 'bad', sig: 'not-a-file', reason: 'not a regular file' };
      const sig = `${info.ino}:${info.mtimeMs}:${info.size}`;
      const cached = this.#cache.get(name);
      if (cached?.sig === sig) return cached;
      const text = await readFile(file, 'utf8');
      try {
        return {
          kind: 'lease',
          sig,
          ino: info.ino,
          record: parseLease(text, this.key, name, this.ctx.secret),
        };
      } catch (error) {
        return { kind: 'bad', sig, reason: (error as Error).message };
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { kind: 'gone', expired: await this.#buried(name) };
      return { kind: 'bad', sig: `error:${code}`, reason: `unreadable (${code})`, error };
    }
  }

  /** Whether the lease we last saw under `name` was moved to its tombstone as stale. */
  async #buried(name: string): Promise<boolean> {
    const last = this.#cache.get(name);
    return last?.kind === 'lease' && this.#buriedAs(name, last.ino);
  }

  async #buriedAs(name: string, ino: number): Promise<boolean> {
    try {
      return (await stat(join(this.dir, tombstoneName(name)))).ino === ino;
    } catch {
      return false;
    }
  }

  /** Reconciles one file; returns the expiry under way when the lease is stale. */
  #apply(name: string, seen: Observation, initial: boolean): Promise<void> | undefined {
    const id = name.slice(0, -'.json'.length);
    const before = this.#cache.get(name);
    if (seen.kind === 'gone') {
      this.#cache.delete(name);
      const known = this.#view.get(id);
      if (known)
        this.#view.report({
          type: 'removed',
          instance: known,
          why: seen.expired ? 'expired' : 'left',
        });
      return undefined;
    }
    if (seen.kind === 'bad') {
      if (before?.kind !== 'bad' || before.sig !== seen.sig) {
        this.ctx.stats.badFiles++;
        safeWarn(this.ctx.warn, {
          code: 'bad-lease-file',
          message: `ignoring lease file ${join(this.dir, name)}: ${seen.reason}`,
          path: join(this.dir, name),
          error: seen.error,
        });
      }
      this.#cache.set(name, seen);
      const known = this.#view.get(id);
      if (known) this.#view.report({ type: 'removed', instance: known, why: 'expired' });
      return undefined;
    }
    const { record } = seen;
    if (isStale(record, this.ctx.clock.now(), this.ctx.hostname)) {
      this.#cache.delete(name);
      return this.#expire(name, id, seen.ino);
    }
    this.#cache.set(name, seen);
    const known = this.#view.get(id);
    if (known && sameInstance(known, record.instance)) return undefined;
    // Same id, new address or labels: a restarted instance. Tell it as leave then join so a
    // client drops connections to the old address.
    if (known) this.#view.report({ type: 'removed', instance: known, why: 'left' });
    if (initial) this.#view.seed(record.instance);
    else this.#view.report({ type: 'added', instance: record.instance });
    return undefined;
  }

  /**
   * Buries a lease judged stale, then reports it. The judgement was made on a read that may
   * be old by now: if the owner unlinked the file in between (it revoked, then exited, so
   * its pid is gone too) the instance left; if the owner renewed it, it is not stale.
   */
  async #expire(name: string, id: string, ino: number): Promise<void> {
    const outcome = await this.#bury(name, ino);
    if (outcome === 'renewed') {
      this.#pending.add(name);
      return;
    }
    const known = this.#view.get(id);
    if (!known) return;
    const why = outcome === 'gone' && !(await this.#buriedAs(name, ino)) ? 'left' : 'expired';
    this.#view.report({ type: 'removed', instance: known, why });
  }

  /**
   * Moves a stale lease to its tombstone unless its owner has just replaced it (a renewal
   * is a rename, so a fresh lease has a new inode). The window left between the check and
   * the rename only costs a live-but-late owner one renewal period of absence.
   */
  async #bury(name: string, ino: number): Promise<'buried' | 'renewed' | 'gone' | 'failed'> {
    const file = join(this.dir, name);
    try {
      if ((await stat(file)).ino !== ino) return 'renewed';
      await rename(file, join(this.dir, tombstoneName(name)));
      this.ctx.stats.staleRemoved++;
      return 'buried';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
      safeWarn(this.ctx.warn, {
        code: 'cleanup-failed',
        message: `could not remove stale lease ${file}`,
        path: file,
        error,
      });
      return 'failed';
    }
  }

  async #removeLeftovers(names: string[]): Promise<void> {
    // Real time, not the clock: it is compared with the file system's mtime.
    const now = Date.now();
    await Promise.all(
      names.map(async (name) => {
        const file = join(this.dir, name);
        try {
          if (now - (await stat(file)).mtimeMs > this.ctx.tempMaxAgeMs) await unlink(file);
        } catch {
          // Gone already, or not ours to remove: either way nothing to do.
        }
      }),
    );
  }

  /**
   * (Re)starts fs.watch when it is not running or the directory was replaced (a watch
   * follows the inode, so a recreated directory would go unwatched). Failure only costs
   * latency: the poll still sees everything.
   */
  async #ensureFsWatch(): Promise<void> {
    const ino = (await stat(this.dir)).ino;
    if (this.#fsWatcher && ino === this.#dirIno) return;
    this.#stopFsWatch();
    if (this.#view.closed) return;
    this.#dirIno = ino;
    try {
      const watcher = fsWatch(this.dir, { persistent: false }, (_event, name) => {
        if (name === null) this.#schedule(null);
        else if (isLeaseFileName(name)) this.#schedule(name);
      });
      watcher.on('error', () => {
        if (this.#fsWatcher === watcher) this.#stopFsWatch();
      });
      this.#fsWatcher = watcher;
    } catch (error) {
      this.#dirIno = undefined;
      if (this.#watchWarned) return;
      this.#watchWarned = true;
      safeWarn(this.ctx.warn, {
        code: 'watch-failed',
        message: `fs.watch on ${this.dir} failed; relying on polling every ${this.ctx.pollMs} ms`,
        path: this.dir,
        error,
      });
    }
  }

  #stopFsWatch(): void {
    this.#fsWatcher?.close();
    this.#fsWatcher = undefined;
    this.#dirIno = undefined;
  }

  toString(): string {
    return `FileWatcher(${endpointPath(this.key)})`;
  }
}
