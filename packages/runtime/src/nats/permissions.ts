/**
 * NATS permissions: what andon needs of its NATS user, checked once at start, and how a
 * refusal the server reports later is recognised.
 */
import { randomBytes } from 'node:crypto';
import type { NatsConnection, Status } from '@nats-io/transport-node';
import { Disconnected } from '../errors.js';

/** A refusal as the NATS client reports it: the operation and the subject refused. */
export interface PermissionRefusal {
  readonly operation: 'publish' | 'subscription';
  readonly subject: string;
  readonly message: string;
}

/** The refusal `error` describes, if it is one (the client's PermissionViolationError). */
export function permissionRefusal(error: unknown): PermissionRefusal | undefined {
  const e = error as (Partial<PermissionRefusal> & { name?: unknown }) | null | undefined;
  if (typeof e !== 'object' || e === null || e.name !== 'PermissionViolationError') return;
  const operation = e.operation === 'subscription' ? 'subscription' : 'publish';
  return { operation, subject: String(e.subject ?? ''), message: String(e.message ?? '') };
}

/** What to tell a user whose NATS account refuses `prefixes`. */
export function permissionAdvice(prefixes: readonly string[]): string {
  // Every subject andon uses, inboxes included, is under its prefixes; `andon.>` covers
  // `andon.discovery.>`, so only the outermost are named.
  const outermost = [...new Set(prefixes)].filter(
    (p) => !prefixes.some((q) => p.startsWith(`${q}.`)),
  );
  const grants = outermost.map((p) => `"${p}.>"`).join(' and ');
  return `its NATS user needs publish and subscribe on ${grants}`;
}

/**
 * Checks, with one round trip, that `nc` may publish and subscribe under each of
 * `prefixes`, as a runtime's transport and discovery will. Rejects with
 * {@link Disconnected} naming every refused subject and the permissions to grant.
 *
 * Probes rather than waits: the server reports a refusal asynchronously and the client
 * then drops the message or closes the subscription, so a runtime that started without
 * its permissions would only fail later, as silence.
 *
 * @example
 * const nc = await connect({ servers: 'nats://10.0.0.5:4222', user: 'svc', pass: '…' });
 * await checkNatsPermissions(nc, ['andon', 'andon.discovery'], 'nats://10.0.0.5:4222');
 */
export async function checkNatsPermissions(
  nc: NatsConnection,
  prefixes: readonly string[],
  server: string,
): Promise<void> {
  const token = randomBytes(6).toString('hex');
  const probes = prefixes.map((p) => `${p}.v1.probe.${token}`);
  const refused = new Map<string, PermissionRefusal>();
  const note = (error: unknown) => {
    const refusal = permissionRefusal(error);
    if (refusal) refused.set(`${refusal.operation} ${refusal.subject}`, refusal);
  };
  const status = nc.status() as AsyncIterable<Status> & { stop(): void };
  const watching = (async () => {
    for await (const s of status) if (s.type === 'error') note(s.error);
  })();
  const subscriptions = probes.map((subject) =>
    nc.subscribe(subject, { callback: (error) => note(error) }),
  );
  try {
    for (const subject of probes) nc.publish(subject);
    // The server answers in order: any refusal comes before the PONG that ends the flush.
    await nc.flush();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    for (const subscription of subscriptions) subscription.unsubscribe();
    status.stop();
    await watching;
  }
  if (refused.size === 0) return;
  const what = [...refused.values()]
    .map((r) => `${r.operation === 'publish' ? 'publish to' : 'subscribe to'} "${r.subject}"`)
    .join(', ');
  throw new Disconnected(
    `NATS at ${server} refuses to let this runtime ${what}: ${permissionAdvice(prefixes)} (natsPrefix sets the prefix)`,
    { tier: 'nats' },
  );
}
