import { describe, expect, it } from 'vitest';
import {
  declarationsMentioningInternal,
  exportedNames,
} from '../../../test/support/package-surface.js';

// The public surface, on purpose: a change here is a change users see.
const MAIN_EXPORTS = [
  'ANONYMOUS',
  'ApiKeys',
  'HttpError',
  'OpenAIServer',
  'ServerMetrics',
  'SimulatedEngine',
  'assertEngineRequest',
  'createEmbeddedServer',
  'defineBuiltinKinds',
  'engineHandler',
  'mayAccess',
  'parseCompletionRequest',
  'taskJson',
];

describe('the package', () => {
  it('exports its API through the package name', () => {
    expect(exportedNames(['@andon/server'])['@andon/server']).toEqual(MAIN_EXPORTS);
  });

  it('ships no @internal member in its declarations', () => {
    expect(declarationsMentioningInternal('server')).toEqual([]);
  });
});
