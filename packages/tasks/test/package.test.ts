import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { declarationsMentioningInternal } from '../../../test/support/package-surface.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

// The public surface, on purpose: a change here is a change users see.
const MAIN_EXPORTS = [
  'MemoryStore',
  'QueueFullError',
  'ShuttingDownError',
  'TASK_STATUSES',
  'TERMINAL_EVENT_TYPES',
  'TaskError',
  'TaskExistsError',
  'TaskInputError',
  'TaskManager',
  'TaskNotFoundError',
  'UnknownKindError',
  'WatcherLaggedError',
  'defaultDataDir',
  'defaultStorePath',
  'isSharedStore',
  'isTerminal',
  'isTerminalEvent',
  'terminalEventOf',
];

function run(script: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
}

describe('the package', () => {
  it('exports its API through the package name, SQLite only from ./sqlite, JetStream only from ./jetstream', () => {
    const out = run(`
      const main = await import('@andon/tasks');
      const sqlite = await import('@andon/tasks/sqlite');
      const jetstream = await import('@andon/tasks/jetstream');
      console.log(JSON.stringify({
        main: Object.keys(main).sort(),
        sqlite: Object.keys(sqlite).sort(),
        jetstream: Object.keys(jetstream).sort(),
      }));
    `);
    const { main, sqlite, jetstream } = JSON.parse(out) as Record<string, string[]>;
    expect(main).toEqual(MAIN_EXPORTS);
    expect(sqlite).toEqual(['SqliteStore', 'defaultDataDir', 'defaultStorePath']);
    expect(jetstream).toEqual(['JetStreamStore']);
  });

  it('does not load the native SQLite module unless ./sqlite is imported', () => {
    const out = run(`
      import { createRequire } from 'node:module';
      await import('@andon/tasks');
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(loaded.some((path) => path.includes('better-sqlite3'))));
    `);
    expect(JSON.parse(out)).toBe(false);
  });

  it('ships no @internal member in its declarations', () => {
    expect(declarationsMentioningInternal('tasks')).toEqual([]);
  });
});
