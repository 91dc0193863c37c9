export * from './discovery.js';
export {
  DISCOVERY_DIR_ENV,
  FileDiscovery,
  type FileDiscoveryOptions,
  type FileDiscoveryStats,
} from './file.js';
export { MemoryDiscovery, MemoryDiscoveryHub, type MemoryDiscoveryOptions } from './memory.js';
export {
  type DiscoveryWarning,
  type DiscoveryWarningHandler,
  emitDiscoveryWarning,
} from './warning.js';
