import { Command } from 'commander';
import { registerDemo } from './commands/demo.js';

/**
 * The `andon` command line. Each command registers itself from its own module under
 * `commands/`; `serve`, `frontend` and `worker` join here as they land.
 */
export function buildProgram(): Command {
  const program = new Command('andon')
    .description('andon: pull the cord anywhere, and every tier stops.')
    .version('0.1.0')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)');
  registerDemo(program);
  return program;
}
