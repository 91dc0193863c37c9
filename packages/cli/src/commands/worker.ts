import type { Command } from 'commander';
import { exitWith } from '../lib/action.js';
import { exitWithParentOption, graceOption, hostOption } from '../lib/command-options.js';
import { addConnectOptions, parsePort } from '../lib/options.js';
import { addEngineOptions } from '../serve/engine-options.js';
import { runWorker, type WorkerOptions } from '../serve/worker.js';
import { addWorkerTaskOptions } from '../serve/worker-tasks.js';

/** Registers `andon worker`: a simulated engine served through the runtime. */
export function registerWorker(program: Command): void {
  const worker = program
    .command('worker')
    .description(
      'serve a simulated LLM engine at <namespace>/engine/generate for `andon frontend` or `andon router`; prints a ready line with its instance id',
    );
  addConnectOptions(worker, 'andon')
    .addOption(hostOption('address the runtime (and --metrics-port) listen on'))
    .option(
      '--metrics-port <port>',
      "serve this worker's Prometheus metrics on http://<host>:<port>/metrics (0: a free port)",
      parsePort,
    );
  addWorkerTaskOptions(addEngineOptions(worker))
    .addOption(
      graceOption(
        'on the first signal, how long in-flight streams may finish before they are stopped',
      ),
    )
    .addOption(exitWithParentOption())
    .action(exitWith((options: WorkerOptions) => runWorker(options), 'worker'));
}
