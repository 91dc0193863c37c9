import { type Command, Option } from 'commander';
import { FOREVER_MS } from '../lib/forever.js';
import { parseInteger, parseMs } from '../lib/options.js';

/** How a tier waits for the instances it calls. */
export interface WaitFlags {
  /** Start serving once this many instances are in discovery. */
  minWorkers: number;
  /** Give up after this long; wait until interrupted when absent. */
  wait?: number;
}

/** Adds `--min-workers` and `--wait`; `what` names the instances waited for. */
export function addWaitOptions(command: Command, what: string): Command {
  return command
    .option(
      `--min-workers <n>`,
      `start once this many ${what} are in discovery`,
      parseInteger(1),
      1,
    )
    .addOption(
      new Option(
        '--wait <ms>',
        `fail if the ${what} have not appeared within this long (default: wait until interrupted)`,
      ).argParser(parseMs(1)),
    );
}

/** The timeout to give `waitForInstances`. */
export function waitTimeout(flags: WaitFlags): number {
  return flags.wait ?? FOREVER_MS;
}
