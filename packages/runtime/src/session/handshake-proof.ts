/**
 * Proof purposes of the handshake (see shared-secret.ts and docs/PROTOCOL.md): one for each
 * side, so that a proof one side made is never valid as the other's.
 */
export const RESPONDER_PROOF = 'andon handshake v3: responder';
export const CALLER_PROOF = 'andon handshake v3: caller';
