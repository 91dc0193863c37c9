import { defineConformance } from './support/conformance.js';
import { memoryFixture } from './support/peers.js';

defineConformance(memoryFixture);
