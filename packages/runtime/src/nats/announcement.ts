/**
 * The announcement codec of NATS discovery: the JSON messages on its announce subjects and in
 * query replies (see docs/nats-discovery.md).
 */
import { checkInstance, describe, parseJsonObject, sameInstance } from '../discovery/check.js';
import type { EndpointKey, Instance } from '../discovery/discovery.js';
import { NATS_DISCOVERY_VERSION } from './discovery-subjects.js';

/** One registration: the instance and the id of this particular lease on it. */
export interface LeaseEntry {
  /** Unique per `register()` call, so a late message about an old lease never revives it. */
  readonly lease: string;
  readonly instance: Instance;
}

/** What travels on announce subjects and in query replies. */
export type Announcement =
  | { readonly kind: 'up'; readonly leaseMs: number; readonly leases: readonly LeaseEntry[] }
  | {
      readonly kind: 'left';
      readonly leases: readonly { readonly lease: string; readonly instanceId: string }[];
    };

const encoder = new TextEncoder();

export function encodeUp(leaseMs: number, leases: Iterable<LeaseEntry>): Uint8Array {
  return encoder.encode(
    JSON.stringify({ v: NATS_DISCOVERY_VERSION, kind: 'up', leaseMs, leases: [...leases] }),
  );
}

export function encodeLeft(leases: Iterable<LeaseEntry>): Uint8Array {
  const gone = [...leases].map((e) => ({ lease: e.lease, instanceId: e.instance.instanceId }));
  return encoder.encode(JSON.stringify({ v: NATS_DISCOVERY_VERSION, kind: 'left', leases: gone }));
}

const MAX_LEASE_MS = 3_600_000;

/**
 * Parses a message for endpoint `key`. Throws an Error saying what is wrong; an instance
 * that names another endpoint is refused so that it cannot shadow a real one.
 */
export function decodeAnnouncement(text: string, key: EndpointKey): Announcement {
  const msg = parseJsonObject(text);
  if (msg.v !== NATS_DISCOVERY_VERSION) throw new Error(`unknown version ${describe(msg.v)}`);
  if (!Array.isArray(msg.leases)) throw new Error('leases must be an array');
  if (msg.kind === 'up') {
    const leaseMs = msg.leaseMs;
    if (
      typeof leaseMs !== 'number' ||
      !Number.isFinite(leaseMs) ||
      leaseMs <= 0 ||
      leaseMs > MAX_LEASE_MS
    ) {
      throw new Error(`leaseMs must be a number in (0, ${MAX_LEASE_MS}], got ${describe(leaseMs)}`);
    }
    const leases = msg.leases.map((item: unknown) => {
      const entry = item as Record<string, unknown> | null;
      const lease = checkLeaseId(entry?.lease);
      const instance = checkInstance(entry?.instance);
      const expected: Instance = { ...instance, ...key };
      if (!sameInstance(instance, expected)) {
        throw new Error(`instance ${instance.instanceId} names another endpoint`);
      }
      return { lease, instance };
    });
    return { kind: 'up', leaseMs, leases };
  }
  if (msg.kind === 'left') {
    const leases = msg.leases.map((item: unknown) => {
      const entry = item as Record<string, unknown> | null;
      const instanceId = entry?.instanceId;
      if (typeof instanceId !== 'string') throw new Error('left.instanceId must be a string');
      return { lease: checkLeaseId(entry?.lease), instanceId };
    });
    return { kind: 'left', leases };
  }
  throw new Error(`unknown kind ${describe(msg.kind)}`);
}

function checkLeaseId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 64) {
    throw new Error(`lease must be a string of 1-64 characters, got ${describe(value)}`);
  }
  return value;
}
