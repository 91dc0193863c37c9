import { commandPrefix, describeError, ERROR, note } from './output.js';

/** An action that resolves with the process's exit code. */
export type Run<T> = (options: T) => Promise<number>;

/**
 * Hands an action's exit code to the process (process.exitCode, so output on pipes is never
 * cut short). An action that throws prints `andon <command>: error: <message>` and exits 1,
 * instead of a stack trace for what is usually a bad flag or an unreachable peer.
 */
export function exitWith<T>(run: Run<T>, command?: string): (options: T) => Promise<void> {
  return async (options) => {
    try {
      process.exitCode = await run(options);
    } catch (failure) {
      if (command === undefined) throw failure;
      note(commandPrefix(command), `${ERROR}${describeError(failure)}`);
      process.exitCode = 1;
    }
  };
}
