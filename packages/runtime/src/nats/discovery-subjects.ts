/**
 * NATS discovery's subjects (see docs/nats-discovery.md); the messages on them are in
 * announcement.ts. Kept apart from the client logic so another implementation can be checked
 * against it.
 */
import type { EndpointKey } from '../discovery/discovery.js';

/** Version token in every discovery subject and message; readers ignore other versions. */
export const NATS_DISCOVERY_VERSION = 1;

/** Default first tokens of every discovery subject. */
export const DEFAULT_DISCOVERY_PREFIX = 'andon.discovery';

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
