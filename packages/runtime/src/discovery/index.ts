// Discovery's public names, listed on purpose: helpers shared between the implementations
// (endpointPath, emitDiscoveryWarning) stay inside the package.
export {
  checkName,
  type Discovery,
  type EndpointKey,
  type Instance,
  type InstanceChange,
  type Lease,
  type Watcher,
} from './discovery.js';
export {
  DISCOVERY_DIR_ENV,
  FileDiscovery,
  type FileDiscoveryOptions,
  type FileDiscoveryStats,
} from './file.js';
export { MemoryDiscovery, MemoryDiscoveryHub, type MemoryDiscoveryOptions } from './memory.js';
export type { DiscoveryWarning, DiscoveryWarningHandler } from './warning.js';
