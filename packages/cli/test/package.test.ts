import { describe, expect, it } from 'vitest';
import {
  declarationsMentioningInternal,
  exportedNames,
} from '../../../test/support/package-surface.js';

describe('the package', () => {
  // The command is the product; the module exports only what builds it, for embedding.
  it('exports buildProgram and nothing else', () => {
    expect(exportedNames(['andon']).andon).toEqual(['buildProgram']);
  });

  it('ships no @internal member in its declarations', () => {
    expect(declarationsMentioningInternal('cli')).toEqual([]);
  });
});
