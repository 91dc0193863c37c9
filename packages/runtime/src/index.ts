export { type CallOptions, Client, type WaitOptions } from './client.js';
export * from './discovery/index.js';
export * from './errors.js';
export {
  Component,
  Endpoint,
  Namespace,
  Runtime,
  type RuntimeOptions,
  type ServedEndpoint,
  type ShutdownOptions,
} from './runtime.js';
export { ResponseStream } from './session/caller.js';
export type { Logger } from './session/logger.js';
export type { Handler } from './session/responder.js';
export type { RuntimeStats } from './session/stats.js';
export { MemoryTransport } from './transports/memory.js';
export { TcpTransport } from './transports/tcp.js';
export type { ByteChannel, Transport } from './transports/transport.js';
