import type { CompletionBackend } from '@andon/server';
import type { Command } from 'commander';
import { parseDuration, parseInteger } from '../lib/options.js';
import { commandPrefix, note } from '../lib/output.js';
import { JetStreamUnavailableError } from './jetstream-tasks.js';
import { openTasks } from './task-options.js';

/** The task flags of `andon worker`: it runs tasks only from a shared (JetStream) store. */
export interface WorkerTaskFlags {
  nats?: string;
  taskConcurrency: number;
  keepFor: number;
}

/** Adds `--task-concurrency` and `--keep-for` to `andon worker`. */
export function addWorkerTaskOptions(command: Command): Command {
  return command
    .option(
      '--task-concurrency <n>',
      'with --nats: tasks of one kind this worker runs at once, taken from the queue shared on JetStream (0: none; default 4)',
      parseInteger(0, 10_000),
      4,
    )
    .option(
      '--keep-for <duration>',
      'with --nats: how long tasks this worker ends are kept, e.g. 30m, 1h (default 1h)',
      parseDuration,
      3_600_000,
    );
}

/**
 * With `--nats`, a worker takes tasks from the queue every `andon serve --nats` on the same
 * server fills (the built-in kinds, `llm/Complete` on this worker's own engine). Resolves
 * `undefined` without `--nats`, with `--task-concurrency 0`, or when the NATS server has no
 * JetStream (the worker then says so and serves its engine only: tasks are an addition to
 * what a worker does, not a reason to refuse the engine).
 */
export async function openWorkerTasks(
  flags: WorkerTaskFlags,
  engine: CompletionBackend,
): Promise<Awaited<ReturnType<typeof openTasks>> | undefined> {
  if (flags.nats === undefined || flags.taskConcurrency === 0) return undefined;
  try {
    return await openTasks({ ...flags, store: 'jetstream' }, engine);
  } catch (error) {
    if (!(error instanceof JetStreamUnavailableError)) throw error;
    note(commandPrefix('worker'), `runs no tasks: ${error.message}`);
    return undefined;
  }
}
