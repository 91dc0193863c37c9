import { MemoryStore } from '../src/memory-store.js';
import { storeConformance } from './store-conformance.js';

storeConformance('MemoryStore', async () => ({ store: new MemoryStore() }));
