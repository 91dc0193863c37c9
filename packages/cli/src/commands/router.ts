import type { Command } from 'commander';
import { exitWith } from '../lib/action.js';
import { exitWithParentOption, graceOption, hostOption } from '../lib/command-options.js';
import { addConnectOptions } from '../lib/options.js';
import { type RouterOptions, runRouter } from '../serve/router.js';
import { addWaitOptions } from '../serve/wait.js';

/** Registers `andon router`: a middle tier between `andon frontend --via-router` and the workers. */
export function registerRouter(program: Command): void {
  const router = program
    .command('router')
    .description(
      "serve <namespace>/router/generate, forwarding each request to a worker with the caller's context (for `andon frontend --via-router`)",
    );
  addConnectOptions(router, 'andon').addOption(hostOption('address the runtime listens on'));
  addWaitOptions(router, 'workers')
    .addOption(
      graceOption(
        'on the first signal, how long in-flight streams may finish before they are stopped',
      ),
    )
    .addOption(exitWithParentOption())
    .action(exitWith((options: RouterOptions) => runRouter(options), 'router'));
}
