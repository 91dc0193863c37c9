import { type Command, Option } from 'commander';
import { exitWith } from '../lib/action.js';
import { graceOption, hostOption, portOption } from '../lib/command-options.js';
import { parseInteger, parseMs, parseNatsUrl } from '../lib/options.js';
import { readTokenFile } from '../lib/token.js';
import { addAuthOptions } from '../serve/auth-options.js';
import { addEngineOptions } from '../serve/engine-options.js';
import { runServe, type ServeOptions } from '../serve/serve.js';
import { addTaskOptions, taskFlagsProblem } from '../serve/task-options.js';

/** Registers `andon serve`: front end and engine in one command. */
export function registerServe(program: Command): void {
  const serve = program
    .command('serve')
    .description(
      'run the OpenAI-compatible server with a simulated engine: one process, or --workers N worker processes behind it; prints the URL',
    )
    .addOption(hostOption('address the HTTP server listens on'))
    .addOption(portOption('port the HTTP server listens on'))
    .option(
      '--workers <n>',
      'run the engine in this many `andon worker` processes (TCP, a temporary discovery directory) instead of in-process',
      parseInteger(1, 64),
    )
    .addOption(
      new Option(
        '--nats <url>',
        'keep tasks on this NATS server (JetStream), shared with every andon serve and worker on it; with --workers, connect them over it too',
      ).argParser(parseNatsUrl),
    )
    .option(
      '--startup-timeout <ms>',
      'with --workers: fail unless they are ready within this long',
      parseMs(1),
      15_000,
    )
    .option(
      '--max-restarts <n>',
      'with --workers: a worker that crashes is restarted, at most this many times a minute, while the others serve',
      parseInteger(0, 1000),
      5,
    )
    .addOption(
      new Option(
        '--token-file <file>',
        'with --workers: the secret the workers and this process prove to each other (default: $ANDON_TOKEN, else a new random one for this run)',
      ).argParser(readTokenFile),
    )
    .option(
      '--kill-after <ms>',
      'with --workers: on shutdown, SIGKILL a worker this long after SIGTERM',
      parseMs(1),
      5_000,
    );
  addAuthOptions(addTaskOptions(addEngineOptions(serve)))
    .addOption(
      graceOption('on the first signal, how long cancelled requests get to wind down', 2000),
    )
    .action(
      exitWith((options: ServeOptions) => {
        const problem = taskFlagsProblem(options);
        if (problem !== undefined) serve.error(problem);
        return runServe(options);
      }, 'serve'),
    );
}
