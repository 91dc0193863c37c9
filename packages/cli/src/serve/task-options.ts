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
import { openJetStreamTasks } from './jetstream-tasks.js';

/** The task flags of `andon serve`, as commander parses them. */
export interface TaskFlags {
  /** Default: `jetstream` with `nats`, else `sqlite`. */
  store?: 'memory' | 'sqlite' | 'jetstream';
  dataDir?: string;
  taskConcurrency: number;
  keepFor: number;
  /** The NATS server of a `jetstream` store (the command's `--nats`). */
  nats?: string;
}

/**
 * Where the flags' checks that span two flags fail, as commander's `error` prints them;
 * `undefined` when they agree.
 */
export function taskFlagsProblem(flags: TaskFlags): string | undefined {
  const kind = storeKind(flags);
  if (kind === 'jetstream' && flags.nats === undefined) {
    return "error: option '--store jetstream' needs --nats <url>";
  }
  if (kind !== 'jetstream' && flags.taskConcurrency === 0) {
    return "error: option '--task-concurrency 0' runs no task here; it is for --store jetstream, where other processes run them";
  }
  return undefined;
}

/** Which store the flags choose. */
export function storeKind(flags: TaskFlags): 'memory' | 'sqlite' | 'jetstream' {
  return flags.store ?? (flags.nats === undefined ? 'sqlite' : 'jetstream');
}

/** Adds the task flags to `command`. */
export function addTaskOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--store <kind>',
        'where tasks and their events are kept: jetstream shares them with every andon serve and worker on the same --nats (default: jetstream with --nats, else sqlite)',
      ).choices(['memory', 'sqlite', 'jetstream']),
    )
    .option(
      '--data-dir <dir>',
      'directory of the SQLite task store, tasks.db (default: $ANDON_DATA_DIR or ~/.andon)',
    )
    .option(
      '--task-concurrency <n>',
      'tasks of one kind running at once in this process (default 4; 0 with --store jetstream: create tasks here, run them elsewhere)',
      parseInteger(0, 10_000),
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
 * Opens the task manager of `andon serve` (and of `andon worker --nats`) with the built-in
 * kinds (`demo/Count`, `demo/Fetch`, `llm/Complete` on `backend`). On SQLite, tasks that a
 * crash left running are marked failed as it opens and the data directory is claimed for
 * this process until `release()`; on JetStream the store is shared with every process on
 * the same NATS, and `release()` closes the connection. Resolves with the manager and a
 * line that says where tasks live.
 */
export async function openTasks(
  flags: TaskFlags,
  backend: CompletionBackend,
): Promise<{ tasks: TaskManager; where: string; release: () => void }> {
  let store: TaskStore;
  let where: string;
  let release = () => {};
  const kind = storeKind(flags);
  if (kind === 'jetstream') {
    if (flags.nats === undefined) throw new TypeError('openTasks: a jetstream store needs nats');
    const shared = await openJetStreamTasks(flags.nats);
    store = shared.store;
    where = `tasks on JetStream at ${shared.display}`;
    release = shared.close;
  } else if (kind === 'memory') {
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
