import type { Clock } from '@andon/context';
import type { Msg, Subscription } from '@nats-io/transport-node';
import { sameInstance } from '../discovery/check.js';
import {
  type EndpointKey,
  endpointPath,
  type Instance,
  type InstanceChange,
  type Watcher,
} from '../discovery/discovery.js';
import { InstanceView } from '../discovery/view.js';
import { type DiscoveryWarningHandler, safeWarn } from '../discovery/warning.js';
import { type Announcement, decodeAnnouncement } from './announcement.js';

/** How long a departed lease id is remembered, against heartbeats that were already in flight. */
const GONE_MEMORY_MS = 60_000;

interface Known {
  lease: string;
  leaseMs: number;
  deadline: number;
}

/** @internal One watch: its view, the lease behind each instance, and when each expires. */
export class NatsWatcher implements Watcher {
  readonly path: string;
  subscription: Subscription | undefined;
  readonly #view: InstanceView;
  /** The starting set while the initial query runs; undefined once the view is handed out. */
  #initial: Map<string, Instance> | undefined = new Map();
  readonly #known = new Map<string, Known>();
  /** Leases that left recently; a heartbeat sent just before the `left` must not revive them. */
  readonly #gone = new Map<string, number>();

  constructor(
    readonly key: EndpointKey,
    onChange: (change: InstanceChange) => void,
    private readonly warn: DiscoveryWarningHandler,
    private readonly clock: Clock,
    private readonly onClosed: (w: NatsWatcher) => void,
  ) {
    this.path = endpointPath(key);
    this.#view = new InstanceView(key, onChange, warn);
  }

  get instances(): readonly Instance[] {
    return this.#view.instances;
  }

  get closed(): boolean {
    return this.#view.closed;
  }

  /** Ends the initial phase: what was found becomes `instances`; later news is reported. */
  start(): void {
    for (const instance of this.#initial?.values() ?? []) this.#view.seed(instance);
    this.#initial = undefined;
  }

  receive(msg: Msg): void {
    if (this.closed) return;
    let announcement: Announcement;
    try {
      announcement = decodeAnnouncement(msg.string(), this.key);
    } catch (error) {
      safeWarn(this.warn, {
        code: 'watch-failed',
        message: `nats discovery: ignored a bad message on ${msg.subject}: ${error instanceof Error ? error.message : String(error)}`,
      });
      return;
    }
    this.apply(announcement);
  }

  apply(a: Announcement): void {
    if (this.closed) return;
    const now = this.clock.now();
    if (a.kind === 'left') {
      for (const { lease, instanceId } of a.leases) {
        this.#gone.set(lease, now + GONE_MEMORY_MS);
        if (this.#known.get(instanceId)?.lease !== lease) continue;
        this.#known.delete(instanceId);
        this.#remove(instanceId, 'left');
      }
      return;
    }
    for (const { lease, instance } of a.leases) {
      if (this.#gone.has(lease)) continue;
      const current = this.#get(instance.instanceId);
      this.#known.set(instance.instanceId, {
        lease,
        leaseMs: a.leaseMs,
        deadline: now + a.leaseMs,
      });
      if (current && sameInstance(current, instance)) continue;
      // Same id, new address: the old one is gone as far as callers are concerned.
      if (current) this.#remove(instance.instanceId, 'left');
      if (this.#initial) this.#initial.set(instance.instanceId, instance);
      else this.#view.report({ type: 'added', instance });
    }
  }

  expire(now: number): void {
    for (const [id, known] of this.#known) {
      if (known.deadline > now) continue;
      this.#known.delete(id);
      this.#remove(id, 'expired');
    }
    for (const [lease, until] of this.#gone) if (until <= now) this.#gone.delete(lease);
  }

  /** Restarts every lease clock, after a time when nothing could be heard. */
  extend(now: number): void {
    for (const known of this.#known.values()) {
      known.deadline = Math.max(known.deadline, now + known.leaseMs);
    }
  }

  close(): void {
    if (this.closed) return;
    this.#view.close();
    this.#known.clear();
    this.#gone.clear();
    this.onClosed(this);
  }

  #get(instanceId: string): Instance | undefined {
    return this.#initial ? this.#initial.get(instanceId) : this.#view.get(instanceId);
  }

  #remove(instanceId: string, why: 'left' | 'expired'): void {
    if (this.#initial) {
      this.#initial.delete(instanceId);
      return;
    }
    const instance = this.#view.get(instanceId);
    if (instance) this.#view.report({ type: 'removed', instance, why });
  }
}
