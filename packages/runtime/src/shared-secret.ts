import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Proofs of holding the deployment's shared secret (`token`, `$ANDON_TOKEN`): an
 * HMAC-SHA256 of what is being vouched for, so the secret itself never leaves the process.
 * Each proof names its purpose first, so a proof made for one purpose (a caller's
 * handshake, a responder's, a lease file) is never valid for another.
 */
export function proofOf(secret: string, purpose: string, ...parts: readonly string[]): string {
  const hmac = createHmac('sha256', secret);
  // Lengths first, so that no two different lists of parts hash the same bytes.
  hmac.update(`${purpose}\n${parts.map((part) => part.length).join(',')}\n`);
  for (const part of parts) hmac.update(part);
  return hmac.digest('base64url');
}

/** Whether `claimed` is the proof `expected`, compared in constant time. */
export function proofMatches(expected: string, claimed: unknown): boolean {
  if (typeof claimed !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(claimed);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A fresh challenge: 32 random bytes, base64url. */
export function newNonce(): string {
  return randomBytes(32).toString('base64url');
}

/** A new random secret, for a supervisor to hand to the processes it starts. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}
