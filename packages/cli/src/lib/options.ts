import { checkName, type RuntimeOptions } from '@andon/runtime';
import { type Command, InvalidArgumentError } from 'commander';

/** The options every demo tier takes to find the others. */
export interface ConnectOptions {
  /** Directory for file discovery; the runtime's default when absent. */
  discoveryDir?: string;
  /** Namespace of the demo's endpoints. */
  namespace: string;
}

/**
 * Adds the options that say how a tier reaches its peers. The NATS transport adds
 * `--nats <url>` here, and {@link runtimeOptions} maps it; every demo command picks it up.
 */
export function addConnectOptions(command: Command): Command {
  return command
    .option(
      '--discovery-dir <dir>',
      'directory shared by the tiers for file discovery (default: $ANDON_DISCOVERY_DIR or <tmp>/andon-discovery)',
    )
    .option('--namespace <name>', 'namespace of the demo endpoints', parseName, 'demo');
}

/** The Runtime.start options for a tier started with {@link ConnectOptions}. */
export function runtimeOptions(options: ConnectOptions): RuntimeOptions {
  return {
    transport: 'tcp',
    discovery: 'file',
    ...(options.discoveryDir === undefined ? {} : { discoveryDir: options.discoveryDir }),
  };
}

/** Commander parser: a namespace the runtime accepts, checked before anything starts. */
export function parseName(value: string): string {
  try {
    return checkName('namespace', value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Commander parser: a whole number of milliseconds, at least `min`. */
export function parseMs(min: number): (value: string) => number {
  return (value) => {
    const ms = Number(value);
    if (value.trim() === '' || !Number.isInteger(ms) || ms < min) {
      throw new InvalidArgumentError(`expected a whole number of milliseconds >= ${min}`);
    }
    return ms;
  };
}
