import { type EndpointKey, endpointPath, type Instance, type InstanceChange } from './discovery.js';
import { type DiscoveryWarningHandler, safeWarn } from './warning.js';

/**
 * What one watcher has told its listener so far. `instances` is always the initial set plus
 * the changes already delivered, so a listener that reads it inside `onChange` sees the
 * change applied and never an instance it has not been told about.
 */
export class InstanceView {
  readonly #known = new Map<string, Instance>();
  #closed = false;

  constructor(
    readonly key: EndpointKey,
    private readonly onChange: (change: InstanceChange) => void,
    private readonly warn: DiscoveryWarningHandler,
    initial: Iterable<Instance> = [],
  ) {
    for (const instance of initial) this.#known.set(instance.instanceId, instance);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get instances(): readonly Instance[] {
    return [...this.#known.values()];
  }

  has(instanceId: string): boolean {
    return this.#known.has(instanceId);
  }

  get(instanceId: string): Instance | undefined {
    return this.#known.get(instanceId);
  }

  /** Seeds the set without reporting, before the watcher is handed out. */
  seed(instance: Instance): void {
    this.#known.set(instance.instanceId, instance);
  }

  /** Applies and reports one change; nothing is reported once closed. */
  report(change: InstanceChange): void {
    if (this.#closed) return;
    const id = change.instance.instanceId;
    if (change.type === 'added') this.#known.set(id, change.instance);
    else if (!this.#known.delete(id)) return;
    try {
      this.onChange(change);
    } catch (error) {
      safeWarn(this.warn, {
        code: 'listener-threw',
        message: `a discovery listener for ${endpointPath(this.key)} threw on ${change.type} ${id}`,
        error,
      });
    }
  }

  close(): void {
    this.#closed = true;
  }
}
