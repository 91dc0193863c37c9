import { randomBytes } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { proofMatches, proofOf } from '../shared-secret.js';
import { checkInstance, describe, parseJsonObject } from './check.js';
import type { EndpointKey, Instance } from './discovery.js';

/** Version of the lease file format; a reader ignores (and reports) any other. */
export const LEASE_FORMAT = 1;

/** What a lease file holds. `renewedAt` is epoch ms on the writer's clock. */
export interface LeaseRecord {
  readonly version: typeof LEASE_FORMAT;
  readonly instance: Instance;
  readonly pid: number;
  readonly hostname: string;
  readonly leaseMs: number;
  readonly renewedAt: number;
}

/** Directories are the owner's alone: another local user could plant leases in them. */
export const DIR_MODE = 0o700;
/** Lease files are the owner's alone to read and write. */
export const FILE_MODE = 0o600;

const LEASE_PROOF = 'andon lease v1';

/**
 * The lease text to write: with a secret, signed (a `signature` field), so that a reader
 * holding the same secret can tell it from one planted by a process that does not hold it.
 */
export function leaseText(record: LeaseRecord, secret: string | undefined): string {
  const unsigned = JSON.stringify(record);
  if (secret === undefined) return `${unsigned}\n`;
  return `${JSON.stringify({ ...record, signature: proofOf(secret, LEASE_PROOF, unsigned) })}\n`;
}

/**
 * Whether a parsed lease was signed with `secret`. The signature covers the record as
 * written (JSON.parse then JSON.stringify gives the writer's bytes back, key order included).
 */
function signedWith(fields: Record<string, unknown>, secret: string): boolean {
  const { signature, ...unsigned } = fields;
  return proofMatches(proofOf(secret, LEASE_PROOF, JSON.stringify(unsigned)), signature);
}

export const LEASE_SUFFIX = '.json';

/** `<dir>/<namespace>/<component>/<endpoint>`. Names are checked, so no segment escapes. */
export function endpointDir(root: string, key: EndpointKey): string {
  return join(root, key.namespace, key.component, key.endpoint);
}

export function leaseFileName(instanceId: string): string {
  return `${instanceId}${LEASE_SUFFIX}`;
}

/**
 * A lease file name, as opposed to a temp file (which starts with '.', as no instance id
 * can) or anything else someone left in the directory.
 */
export function isLeaseFileName(name: string): boolean {
  return name.endsWith(LEASE_SUFFIX) && !name.startsWith('.') && name.length > LEASE_SUFFIX.length;
}

export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/**
 * Where a watcher moves a stale lease instead of deleting it. The rename keeps the inode, so
 * another watcher that finds the lease gone can tell "expired" (the tombstone holds the inode
 * it last saw) from "left" (its owner unlinked it), even when the owner's pid is gone too.
 */
export function tombstoneName(leaseName: string): string {
  return `.${leaseName}.expired`;
}

export function isTombstoneName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.expired');
}

/**
 * Parses and checks a lease file read from `<endpoint dir>/<name>`. Throws an Error saying
 * what is wrong; a file that lies about its endpoint or id (copied, hand-edited) is refused
 * so that it cannot shadow a real instance.
 */
export function parseLease(
  text: string,
  key: EndpointKey,
  name: string,
  secret?: string,
): LeaseRecord {
  const record = parseJsonObject(text);
  if (secret !== undefined && !signedWith(record, secret)) {
    throw new Error(
      record.signature === undefined
        ? 'the lease is not signed, and this process holds a shared secret: it was written by a process without the token'
        : 'the lease is signed with another secret (the tokens differ)',
    );
  }
  if (record.version !== LEASE_FORMAT) {
    throw new Error(
      `unknown lease format version ${JSON.stringify(record.version) ?? 'undefined'}`,
    );
  }
  let instance: Instance;
  try {
    instance = checkInstance(record.instance);
  } catch (error) {
    throw new Error(`bad instance: ${(error as Error).message}`);
  }
  if (
    instance.namespace !== key.namespace ||
    instance.component !== key.component ||
    instance.endpoint !== key.endpoint ||
    leaseFileName(instance.instanceId) !== name
  ) {
    throw new Error('the instance does not match the file it is in');
  }
  if (!Number.isSafeInteger(record.pid) || (record.pid as number) <= 0) {
    throw new Error(`bad pid ${describe(record.pid)}`);
  }
  if (typeof record.hostname !== 'string')
    throw new Error(`bad hostname ${describe(record.hostname)}`);
  if (!isPositive(record.leaseMs)) throw new Error(`bad leaseMs ${describe(record.leaseMs)}`);
  if (!Number.isFinite(record.renewedAt))
    throw new Error(`bad renewedAt ${describe(record.renewedAt)}`);
  return {
    version: LEASE_FORMAT,
    instance,
    pid: record.pid as number,
    hostname: record.hostname,
    leaseMs: record.leaseMs as number,
    renewedAt: record.renewedAt as number,
  };
}

function isPositive(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/**
 * How far ahead of this clock a lease's `renewedAt` may be (clocks of hosts sharing a
 * directory differ a little). A lease further ahead would never lapse: it is refused.
 */
export const MAX_CLOCK_AHEAD_MS = 1000;

/**
 * Stale: not renewed within its own lease time, renewed "in the future" (a lease that would
 * never lapse), or written on this host by a process that no longer exists. The pid test
 * catches a crash at once; the time test catches a frozen or cut-off process and a pid that
 * was reused.
 */
export function isStale(record: LeaseRecord, now: number, hostname: string): boolean {
  if (now - record.renewedAt > record.leaseMs) return true;
  if (record.renewedAt - now > MAX_CLOCK_AHEAD_MS) return true;
  return record.hostname === hostname && !processExists(record.pid);
}

/** Signal 0 checks existence; EPERM means it exists under another user. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Writes `text` to `file` so that a reader sees the old content or the new, never a part:
 * a temp file in the same directory, then rename. Creates the directory when missing (it
 * may have been removed by hand while we ran).
 */
export async function writeAtomically(file: string, dir: string, name: string, text: string) {
  const temp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeTemp(temp, dir, text);
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

async function writeTemp(temp: string, dir: string, text: string): Promise<void> {
  try {
    await writeFile(temp, text, { flag: 'wx', mode: FILE_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    await writeFile(temp, text, { flag: 'wx', mode: FILE_MODE });
  }
}
