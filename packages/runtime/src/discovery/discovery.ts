/**
 * Discovery: who serves which endpoint, and where. Implementations: in-process memory,
 * a shared directory of lease files (one host), NATS (many hosts).
 *
 * Guarantees every implementation gives:
 * - An instance stays visible while its lease is kept alive; it disappears when the lease is
 *   revoked, when the process dies, or when it stops renewing (frozen, cut off), within the
 *   implementation's lease time.
 * - A watcher first sees the instances present now (`instances`), then every join and leave
 *   as an `InstanceChange`, in order, for the endpoint it watches and no other.
 * - `close()` revokes this process's leases, stops every watcher, and clears every timer.
 */
export interface EndpointKey {
  readonly namespace: string;
  readonly component: string;
  readonly endpoint: string;
}

/** One served endpoint of one runtime instance. */
export interface Instance extends EndpointKey {
  /** Unique per runtime instance (a process may hold several runtimes). */
  readonly instanceId: string;
  /** Transport name, e.g. `tcp`, `memory`, `nats`. */
  readonly transport: string;
  /** Where the transport reaches it, e.g. `127.0.0.1:41233`. */
  readonly address: string;
  /** Free-form labels (hostname, pid, version). */
  readonly metadata?: Readonly<Record<string, string>>;
}

export type InstanceChange =
  | { readonly type: 'added'; readonly instance: Instance }
  | {
      readonly type: 'removed';
      readonly instance: Instance;
      /** `left`: revoked on purpose; `expired`: stopped renewing or its process died. */
      readonly why: 'left' | 'expired';
    };

/** A published instance. Revoking it removes the instance from discovery. */
export interface Lease {
  revoke(): Promise<void>;
}

/** A live view of one endpoint's instances. */
export interface Watcher {
  /** The instances known now. */
  readonly instances: readonly Instance[];
  /** Stops watching; no change is reported after this returns. */
  close(): void;
}

export interface Discovery {
  /**
   * Publishes `instance` until the lease is revoked, `close()` runs, or the process dies.
   * Resolves once it is published: a watch that starts afterwards finds it at once.
   */
  register(instance: Instance): Promise<Lease>;
  /** Reports the endpoint's instances and every later join and leave to `onChange`. */
  watch(key: EndpointKey, onChange: (change: InstanceChange) => void): Promise<Watcher>;
  /** Revokes this process's leases and stops its watchers. Idempotent. */
  close(): Promise<void>;
}

/** `namespace/component/endpoint`, the display and lookup form of an endpoint. */
export function endpointPath(key: EndpointKey): string {
  return `${key.namespace}/${key.component}/${key.endpoint}`;
}

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

/** Throws a TypeError unless `value` is a valid namespace, component or endpoint name. */
export function checkName(what: string, value: unknown): string {
  if (typeof value !== 'string' || !NAME.test(value) || value === '.' || value === '..') {
    throw new TypeError(
      `${what} must be 1-128 characters of letters, digits, '_', '-' or '.', not starting with '.'; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}
