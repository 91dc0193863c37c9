import { type CompletionBackend, defineBuiltinKinds } from '@andon/server';
import {
  defaultDataDir,
  defaultStorePath,
  MemoryStore,
  TaskManager,
  type TaskStore,
} from '@andon/tasks';
import { type Command, Option } from 'commander';
import { parseDuration, parseInteger } from '../lib/options.js';
import { claimDataDir } from './data-dir-lock.js';

/** The task flags of `andon serve`, as commander parses them. */
export interface TaskFlags {
  store: 'memory' | 'sqlite';
  dataDir?: string;
  taskConcurrency: number;
  keepFor: number;
}

/** Adds the task flags to `command`. */
export function addTaskOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--store <kind>', 'where tasks and their events are kept')
        .choices(['memory', 'sqlite'])
        .default('sqlite'),
    )
    .option(
      '--data-dir <dir>',
      'directory of the SQLite task store, tasks.db (default: $ANDON_DATA_DIR or ~/.andon)',
    )
    .option(
      '--task-concurrency <n>',
      'tasks of one kind running at once (default 4)',
      parseInteger(1, 10_000),
      4,
    )
    .option(
      '--keep-for <duration>',
      'how long finished tasks and their events are kept, e.g. 30m, 1h, 2d (default 1h)',
      parseDuration,
      3_600_000,
    );
}

/**
 * Opens the task manager of `andon serve` with the built-in kinds (`demo/Count`,
 * `demo/Fetch`, `llm/Complete` on `backend`). Tasks that a crash left running are marked
 * failed as it opens; the data directory is claimed for this process until `release()`.
 * Resolves with the manager and a line that says where tasks live.
 */
export async function openTasks(
  flags: TaskFlags,
  backend: CompletionBackend,
): Promise<{ tasks: TaskManager; where: string; release: () => void }> {
  let store: TaskStore;
  let where: string;
  let release = () => {};
  if (flags.store === 'memory') {
    store = new MemoryStore();
    where = 'tasks in memory';
  } else {
    const dataDir = flags.dataDir ?? defaultDataDir();
    release = claimDataDir(dataDir);
    try {
      // Loaded only when asked for: the native module is the store's, not the CLI's.
      const { SqliteStore } = await import('@andon/tasks/sqlite');
      const path = defaultStorePath(dataDir);
      store = new SqliteStore({ path });
      where = `tasks in ${path}`;
    } catch (error) {
      release();
      throw error;
    }
  }
  const tasks = await TaskManager.open({
    store,
    concurrency: flags.taskConcurrency,
    keepForMs: flags.keepFor,
  });
  defineBuiltinKinds(tasks, { backend });
  return { tasks, where, release };
}
