import { Command } from 'commander';
import { registerChat } from './commands/chat.js';
import { registerDemo } from './commands/demo.js';
import { registerFrontend } from './commands/frontend.js';
import { registerRouter } from './commands/router.js';
import { registerServe } from './commands/serve.js';
import { registerTask } from './commands/task.js';
import { registerWorker } from './commands/worker.js';
import { logFormatOption } from './lib/command-options.js';
import { configureLogging, type LogFormat, LogSettingError } from './lib/log.js';
import { commandPrefix, ERROR, note } from './lib/output.js';

// The commands that log (request logs, the runtime's own); `--log-format` goes on these.
const LOGGING = new Set(['serve', 'frontend', 'worker', 'router', 'demo']);

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
  for (const command of program.commands) {
    if (!LOGGING.has(command.name())) continue;
    command.addOption(logFormatOption());
    for (const sub of command.commands) sub.addOption(logFormatOption());
  }
  // Checked before any command runs: an unknown ANDON_LOG_LEVEL is a mistake to report,
  // not a reason to log at some other level.
  program.hook('preAction', (_program, action) => {
    try {
      configureLogging(action.opts().logFormat as LogFormat | undefined);
    } catch (error) {
      if (!(error instanceof LogSettingError)) throw error;
      // Nothing has started yet, so exiting here leaves nothing behind.
      note(commandPrefix(action.name()), `${ERROR}${error.message}`);
      process.exit(1);
    }
  });
  return program;
}
