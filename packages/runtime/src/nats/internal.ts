/**
 * What Runtime.start loads (with `import()`) when it uses NATS, so runtimes without NATS
 * never load the client. Not a public entry point: see index.ts for that.
 */
export { connectNats, type RuntimeNats } from './connect.js';
export { NatsDiscovery } from './discovery.js';
export { checkNatsPermissions } from './permissions.js';
export { NatsTransport } from './transport.js';
