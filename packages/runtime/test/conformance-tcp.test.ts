import { defineConformance } from './support/conformance.js';
import { tcpFixture } from './support/peers.js';

defineConformance(tcpFixture);
