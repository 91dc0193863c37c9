/**
 * `@andon/runtime/nats`: the public face of andon over NATS, small on purpose (as nats.js
 * keeps `mod.ts` apart from `internal_mod.ts`). What Runtime.start loads lazily is in
 * internal.ts; option parsing, permissions, subjects and the envelope stay inside.
 */
export { connectNats, type RuntimeNats } from './connect.js';
export { NatsDiscovery, type NatsDiscoveryOptions } from './discovery.js';
export type { NatsConnectOptions } from './options.js';
export type { NatsTlsFiles } from './tls.js';
export { NatsTransport, type NatsTransportOptions } from './transport.js';
