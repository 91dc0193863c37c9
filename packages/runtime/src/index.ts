export * from './discovery/discovery.js';
export * from './errors.js';
