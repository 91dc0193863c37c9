import type { ChunkGenerator, SimulatedEngineOptions } from '@andon/server';
import type { Command } from 'commander';
import { parseInteger, parseNumber } from '../lib/options.js';

/** The simulated engine's flags, as commander parses them (absent = the engine's default). */
export interface EngineFlags {
  slots?: number;
  queue?: number;
  msPerToken?: number;
  prefillMs?: number;
  prefillMsPerToken?: number;
  seed?: number;
}

// One table drives the options, the engine's settings and the flags handed to child
// workers, so the three cannot drift apart.
const FLAGS = [
  {
    key: 'slots',
    flag: '--slots <n>',
    help: 'sequences decoded together (default 4)',
    parse: parseInteger(1),
  },
  {
    key: 'queue',
    flag: '--queue <n>',
    help: 'requests that may wait for a slot; one more gets 503 overloaded (default 64)',
    parse: parseInteger(0),
  },
  {
    key: 'msPerToken',
    flag: '--ms-per-token <ms>',
    help: 'time per generated token, per sequence (default 20)',
    parse: parseNumber(0),
  },
  {
    key: 'prefillMs',
    flag: '--prefill-ms <ms>',
    help: 'fixed part of the prefill time (default 5)',
    parse: parseNumber(0),
  },
  {
    key: 'prefillMsPerToken',
    flag: '--prefill-ms-per-token <ms>',
    help: 'prefill time per prompt token (default 0.1)',
    parse: parseNumber(0),
  },
  {
    key: 'seed',
    flag: '--seed <n>',
    help: 'seed of the generated text for requests that send none (default: derived from the prompt)',
    parse: parseInteger(Number.MIN_SAFE_INTEGER),
  },
] as const satisfies readonly {
  key: keyof EngineFlags;
  flag: string;
  help: string;
  parse: (value: string) => number;
}[];

/** Adds the simulated engine's flags to `command`. */
export function addEngineOptions(command: Command): Command {
  for (const { flag, help, parse } of FLAGS) command.option(flag, help, parse);
  return command;
}

/** The engine's settings from its flags (`seed` is not one of them: see {@link withSeed}). */
export function engineOptions(flags: EngineFlags): SimulatedEngineOptions {
  return {
    ...(flags.slots === undefined ? {} : { slots: flags.slots }),
    ...(flags.queue === undefined ? {} : { maxQueue: flags.queue }),
    ...(flags.msPerToken === undefined ? {} : { tokenMs: flags.msPerToken }),
    ...(flags.prefillMs === undefined ? {} : { prefillBaseMs: flags.prefillMs }),
    ...(flags.prefillMsPerToken === undefined
      ? {}
      : { prefillMsPerToken: flags.prefillMsPerToken }),
  };
}

/** The flags that give a child worker the same engine (only those that were set). */
export function engineArgs(flags: EngineFlags): string[] {
  return FLAGS.flatMap(({ key, flag }) => {
    const value = flags[key];
    return value === undefined ? [] : [flag.split(' ', 1)[0]!, String(value)];
  });
}

/**
 * The engine with `seed` as the seed of every request that carries none. The engine itself
 * seeds each request from `request.seed` or a hash of the prompt and has no default of its
 * own, so the flag is applied here, in front of it.
 */
export function withSeed<T extends ChunkGenerator>(
  engine: T,
  seed: number | undefined,
): ChunkGenerator {
  if (seed === undefined) return engine;
  return {
    generate: (request, options) =>
      engine.generate(request.seed === undefined ? { ...request, seed } : request, options),
  };
}
