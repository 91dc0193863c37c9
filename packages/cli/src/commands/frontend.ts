import type { Command } from 'commander';
import { exitWith } from '../lib/action.js';
import {
  exitWithParentOption,
  graceOption,
  hostOption,
  portOption,
} from '../lib/command-options.js';
import { addConnectOptions } from '../lib/options.js';
import { addAuthOptions } from '../serve/auth-options.js';
import { type FrontendOptions, runFrontend } from '../serve/frontend.js';
import { addWaitOptions } from '../serve/wait.js';

/** Registers `andon frontend`: the OpenAI-compatible HTTP front end on workers found in discovery. */
export function registerFrontend(program: Command): void {
  const frontend = program
    .command('frontend')
    .description(
      'serve the OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/models, /metrics) in front of `andon worker`s; prints the URL',
    );
  addConnectOptions(frontend, 'andon')
    .addOption(hostOption('address the HTTP server listens on'))
    .addOption(portOption('port the HTTP server listens on'))
    .option('--via-router', 'call the workers through `andon router` instead of directly', false);
  addAuthOptions(frontend);
  addWaitOptions(frontend, 'workers (or routers, with --via-router)')
    .addOption(
      graceOption('on the first signal, how long cancelled requests get to wind down', 2000),
    )
    .addOption(exitWithParentOption())
    .action(exitWith((options: FrontendOptions) => runFrontend(options), 'frontend'));
}
