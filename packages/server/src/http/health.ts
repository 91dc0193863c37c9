import type { CompletionBackend } from '../backend.js';

/** What `GET /health` reports about the backend. */
export interface Readiness {
  /** A completion sent now could be served. */
  ready: boolean;
  /** Instances serving the backend's endpoint, when it is a runtime client. */
  instances?: number;
  /** Why not, when not ready. */
  reason?: string;
}

// The runtime's Client lists the instances it can reach; the server does not import the
// runtime's class for this, so a client from another copy of the package counts too.
interface InstanceLister {
  instanceIds(): readonly string[];
}

/**
 * Whether `backend` can take a request now: a runtime client needs at least one instance
 * of its endpoint in discovery; a backend without `instanceIds()` (an in-process engine)
 * is ready while the server runs.
 *
 * @example
 * readiness(await endpoint.client());   // { ready: false, instances: 0, reason: 'no worker …' }
 */
export function readiness(backend: CompletionBackend): Readiness {
  const lister = backend as Partial<InstanceLister>;
  if (typeof lister.instanceIds !== 'function') return { ready: true };
  const instances = lister.instanceIds().length;
  if (instances > 0) return { ready: true, instances };
  return {
    ready: false,
    instances,
    reason: 'no worker instance is reachable: completions would get 503 no_instances',
  };
}
