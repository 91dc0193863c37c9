import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where andon keeps its data when not told otherwise: `$ANDON_DATA_DIR`, else `~/.andon`.
 * Free of the native SQLite module, so a memory-only process may call it too.
 *
 * @example
 * new SqliteStore({ path: defaultStorePath() }); // ~/.andon/tasks.db
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.ANDON_DATA_DIR || join(homedir(), '.andon');
}

/** The task store's file in `dataDir`: `<dataDir>/tasks.db`. */
export function defaultStorePath(dataDir: string = defaultDataDir()): string {
  return join(dataDir, 'tasks.db');
}
