import { describe, expect, it } from 'vitest';
import {
  declarationsMentioningInternal,
  exportedNames,
} from '../../../test/support/package-surface.js';

// The public surface, on purpose: a change here is a change users see.
const MAIN_EXPORTS = [
  'BackendError',
  'Cancelled',
  'Client',
  'Component',
  'DISCOVERY_DIR_ENV',
  'DeadlineExceeded',
  'Disconnected',
  'Endpoint',
  'FileDiscovery',
  'MemoryDiscovery',
  'MemoryDiscoveryHub',
  'MemoryTransport',
  'Namespace',
  'NoInstances',
  'Overloaded',
  'ProtocolError',
  'ResponseStream',
  'Runtime',
  'RuntimeError',
  'TcpTransport',
  // Validates a namespace, component or endpoint name; the cli checks its flags with it.
  'checkName',
];

// `connectNats` is the one way to open a NATS connection with the runtime's options (env,
// TLS, redaction); the cli opens its JetStream task store with it.
const NATS_EXPORTS = ['NatsDiscovery', 'NatsTransport', 'connectNats'];

describe('the package', () => {
  it('exports its API through the package name, NATS only from ./nats', () => {
    const names = exportedNames(['@andon/runtime', '@andon/runtime/nats']);
    expect(names['@andon/runtime']).toEqual(MAIN_EXPORTS);
    expect(names['@andon/runtime/nats']).toEqual(NATS_EXPORTS);
  });

  it('ships no @internal member in its declarations', () => {
    expect(declarationsMentioningInternal('runtime')).toEqual([]);
  });
});
