import { Command } from 'commander';
import { registerChat } from './commands/chat.js';
import { registerDemo } from './commands/demo.js';
import { registerFrontend } from './commands/frontend.js';
import { registerRouter } from './commands/router.js';
import { registerServe } from './commands/serve.js';
import { registerTask } from './commands/task.js';
import { registerWorker } from './commands/worker.js';

/**
 * The `andon` command line. Each command registers itself from its own module under
 * `commands/`.
 */
export function buildProgram(): Command {
  const program = new Command('andon')
    .description('andon: pull the cord anywhere, and every tier stops.')
    .version('0.1.0')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)');
  registerServe(program);
  registerFrontend(program);
  registerWorker(program);
  registerRouter(program);
  registerTask(program);
  registerChat(program);
  registerDemo(program);
  return program;
}
