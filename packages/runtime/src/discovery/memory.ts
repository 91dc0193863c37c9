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
import { InstanceView } from './view.js';
import { checkWarningHandler, type DiscoveryWarningHandler } from './warning.js';

interface EndpointState {
  readonly instances: Map<string, Instance>;
  readonly watchers: Set<MemoryWatcher>;
}

/**
 * The registry several {@link MemoryDiscovery} objects share. Runtimes in one process find
 * each other through {@link MemoryDiscoveryHub.shared}; a test that wants isolation makes its
 * own hub.
 *
 * ```ts
 * const hub = new MemoryDiscoveryHub();
 * const a = new MemoryDiscovery({ hub });
 * const b = new MemoryDiscovery({ hub }); // sees what `a` registers; the shared hub does not
 * ```
 */
export class MemoryDiscoveryHub {
  static #shared: MemoryDiscoveryHub | undefined;

  /** The process-wide hub that `new MemoryDiscovery()` joins. */
  static get shared(): MemoryDiscoveryHub {
    MemoryDiscoveryHub.#shared ??= new MemoryDiscoveryHub();
    return MemoryDiscoveryHub.#shared;
  }

  readonly #endpoints = new Map<string, EndpointState>();

  /** The instances registered for `key` now. */
  instances(key: EndpointKey): Instance[] {
    const state = this.#endpoints.get(endpointPath(checkKey(key)));
    return state ? [...state.instances.values()] : [];
  }

  /** @internal */
  add(instance: Instance): void {
    const state = this.#state(instance);
    if (state.instances.has(instance.instanceId)) {
      throw new Error(
        `instance ${JSON.stringify(instance.instanceId)} is already registered for ${endpointPath(instance)}`,
      );
    }
    state.instances.set(instance.instanceId, instance);
    for (const watcher of state.watchers) watcher.enqueue({ type: 'added', instance });
  }

  /** @internal */
  remove(instance: Instance): void {
    const path = endpointPath(instance);
    const state = this.#endpoints.get(path);
    if (!state || state.instances.get(instance.instanceId) !== instance) return;
    state.instances.delete(instance.instanceId);
    for (const watcher of state.watchers)
      watcher.enqueue({ type: 'removed', instance, why: 'left' });
    this.#prune(path, state);
  }

  /** @internal */
  subscribe(watcher: MemoryWatcher): Instance[] {
    const state = this.#state(watcher.key);
    state.watchers.add(watcher);
    return [...state.instances.values()];
  }

  /** @internal */
  unsubscribe(watcher: MemoryWatcher): void {
    const path = endpointPath(watcher.key);
    const state = this.#endpoints.get(path);
    if (!state) return;
    state.watchers.delete(watcher);
    this.#prune(path, state);
  }

  #state(key: EndpointKey): EndpointState {
    const path = endpointPath(key);
    let state = this.#endpoints.get(path);
    if (!state) {
      state = { instances: new Map(), watchers: new Set() };
      this.#endpoints.set(path, state);
    }
    return state;
  }

  // A long-lived hub must not keep an entry for every endpoint ever touched.
  #prune(path: string, state: EndpointState): void {
    if (state.instances.size === 0 && state.watchers.size === 0) this.#endpoints.delete(path);
  }
}

/** Options for {@link MemoryDiscovery}. */
export interface MemoryDiscoveryOptions {
  /** The registry to join. Default: {@link MemoryDiscoveryHub.shared}. */
  hub?: MemoryDiscoveryHub;
  /** Where a listener's exception goes. Default: a process warning. */
  onWarning?: DiscoveryWarningHandler;
}

/**
 * Discovery inside one process. Each runtime takes its own `MemoryDiscovery`; all of them on
 * the same hub see each other, and `close()` revokes only this one's leases. Changes are
 * delivered in order on a later microtask, never inside `register` or `revoke`.
 *
 * ```ts
 * const discovery = new MemoryDiscovery();
 * const lease = await discovery.register({
 *   namespace: 'demo', component: 'server', endpoint: 'generate',
 *   instanceId: 'a1', transport: 'memory', address: 'a1',
 * });
 * const watcher = await new MemoryDiscovery().watch(
 *   { namespace: 'demo', component: 'server', endpoint: 'generate' },
 *   (change) => console.log(change.type, change.instance.instanceId),
 * );
 * watcher.instances; // [the a1 instance]
 * await lease.revoke(); // the listener prints "removed a1"
 * ```
 */
export class MemoryDiscovery implements Discovery {
  readonly hub: MemoryDiscoveryHub;
  readonly #warn: DiscoveryWarningHandler;
  readonly #leases = new Set<MemoryLease>();
  readonly #watchers = new Set<MemoryWatcher>();
  #closed = false;

  constructor(options: MemoryDiscoveryOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('MemoryDiscovery options must be an object');
    }
    if (options.hub !== undefined && !(options.hub instanceof MemoryDiscoveryHub)) {
      throw new TypeError('MemoryDiscovery option hub must be a MemoryDiscoveryHub');
    }
    this.hub = options.hub ?? MemoryDiscoveryHub.shared;
    this.#warn = checkWarningHandler(options.onWarning);
  }

  async register(instance: Instance): Promise<Lease> {
    const checked = checkInstance(instance);
    this.#checkOpen();
    this.hub.add(checked);
    const lease = new MemoryLease(checked, this.hub, (done) => this.#leases.delete(done));
    this.#leases.add(lease);
    return lease;
  }

  async watch(key: EndpointKey, onChange: (change: InstanceChange) => void): Promise<Watcher> {
    const checked = checkKey(key);
    checkListener(onChange);
    this.#checkOpen();
    const watcher = new MemoryWatcher(checked, onChange, this.#warn, this.hub, (done) =>
      this.#watchers.delete(done),
    );
    this.#watchers.add(watcher);
    return watcher;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const watcher of [...this.#watchers]) watcher.close();
    await Promise.all([...this.#leases].map((lease) => lease.revoke()));
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('MemoryDiscovery is closed');
  }
}

class MemoryLease implements Lease {
  #revoked = false;
  constructor(
    readonly instance: Instance,
    private readonly hub: MemoryDiscoveryHub,
    private readonly onRevoked: (lease: MemoryLease) => void,
  ) {}

  async revoke(): Promise<void> {
    if (this.#revoked) return;
    this.#revoked = true;
    this.hub.remove(this.instance);
    this.onRevoked(this);
  }
}

/** @internal */
export class MemoryWatcher implements Watcher {
  readonly #view: InstanceView;
  readonly #queue: InstanceChange[] = [];
  #scheduled = false;

  constructor(
    readonly key: EndpointKey,
    onChange: (change: InstanceChange) => void,
    warn: DiscoveryWarningHandler,
    private readonly hub: MemoryDiscoveryHub,
    private readonly onClosed: (watcher: MemoryWatcher) => void,
  ) {
    this.#view = new InstanceView(key, onChange, warn);
    for (const instance of hub.subscribe(this)) this.#view.seed(instance);
  }

  get instances(): readonly Instance[] {
    return this.#view.instances;
  }

  enqueue(change: InstanceChange): void {
    this.#queue.push(change);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    // Changes enqueued by a listener run in this same loop, after the ones before them.
    for (let change = this.#queue.shift(); change; change = this.#queue.shift()) {
      this.#view.report(change);
    }
  }

  close(): void {
    if (this.#view.closed) return;
    this.#view.close();
    this.#queue.length = 0;
    this.hub.unsubscribe(this);
    this.onClosed(this);
  }
}
