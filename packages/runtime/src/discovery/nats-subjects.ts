/**
 * The NATS discovery wire format: subjects and JSON messages (see docs/nats-discovery.md).
 * Kept apart from the client logic so another implementation can be checked against it.
 */
import { checkInstance, describe, parseJsonObject, sameInstance } from './check.js';
import type { EndpointKey, Instance } from './discovery.js';

/** Version token in every discovery subject and message; readers ignore other versions. */
export const NATS_DISCOVERY_VERSION = 1;

/** Default first tokens of every discovery subject. */
export const DEFAULT_DISCOVERY_PREFIX = 'andon.discovery';

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

const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Throws a TypeError naming `what` unless `value` is a valid subject prefix: dot-separated
 * tokens of letters, digits, '_' or '-', at most 128 characters.
 */
export function checkSubjectPrefix(value: unknown, what = 'options.subjectPrefix'): string {
  if (typeof value !== 'string' || !PREFIX.test(value) || value.length > 128) {
    throw new TypeError(
      `${what} must be dot-separated tokens of letters, digits, '_' or '-' (at most 128 characters); got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * Names may contain '.', which NATS reads as a token separator; '~' cannot occur in a name,
 * so mapping '.' to '~' keeps one name in one token and stays unambiguous.
 */
export function subjectToken(name: string): string {
  return name.replaceAll('.', '~');
}

function keyTokens(key: EndpointKey): string {
  return `${subjectToken(key.namespace)}.${subjectToken(key.component)}.${subjectToken(key.endpoint)}`;
}

/** Heartbeats (`up`) and departures (`left`) of the endpoint's instances. */
export function announceSubject(prefix: string, key: EndpointKey): string {
  return `${prefix}.v${NATS_DISCOVERY_VERSION}.ann.${keyTokens(key)}`;
}

/** A new watcher asks here; every process holding leases on the endpoint replies `up`. */
export function querySubject(prefix: string, key: EndpointKey): string {
  return `${prefix}.v${NATS_DISCOVERY_VERSION}.query.${keyTokens(key)}`;
}

/** Where a watcher's query inboxes live (`createInbox` adds a unique token). */
export function inboxPrefix(prefix: string): string {
  return `${prefix}.v${NATS_DISCOVERY_VERSION}.inbox`;
}

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
