import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { declarationsMentioningInternal } from '../../../test/support/package-surface.js';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

const MAIN_EXPORTS = [
  'CancelledError',
  'Context',
  'STOP_KINDS',
  'SharedContext',
  'TaskGroup',
  'TaskGroupError',
  'TestClock',
  'all',
  'any',
  'cancellable',
  'createReason',
  'isCancelledError',
  'isClock',
  'isStopKind',
  'openSharedContext',
  'race',
  'rootCause',
  'setErrorReporter',
  'shareContext',
  'sleep',
  'stopWhen',
  'systemClock',
];

describe('the package', () => {
  it('keeps the main entry free of node: imports, so it runs in browsers', () => {
    for (const file of readdirSync(src).filter((f) => f.endsWith('.ts') && f !== 'node.ts')) {
      const text = readFileSync(`${src}${file}`, 'utf8');
      expect(text, file).not.toMatch(/from ['"]node:|require\(|\bprocess\.\w/);
    }
  });

  it('exports its API to plain node through the package name, with ./node a superset', () => {
    const script = `
      const main = await import('@andon/context');
      const node = await import('@andon/context/node');
      console.log(JSON.stringify({ main: Object.keys(main).sort(), node: Object.keys(node).sort() }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    const { main, node } = JSON.parse(out) as { main: string[]; node: string[] };
    expect(main).toEqual(MAIN_EXPORTS);
    expect(node).toEqual([...MAIN_EXPORTS, 'signalContext', 'stopOnSignals'].sort());
  });

  it('ships no @internal member in its declarations', () => {
    expect(declarationsMentioningInternal('context')).toEqual([]);
  });
});
