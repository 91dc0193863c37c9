import { type Command, Option } from 'commander';
import { type ClientOptions, runClient } from '../demo/client.js';
import { runMiddle } from '../demo/middle.js';
import { runDemo } from '../demo/orchestrate.js';
import { runServer } from '../demo/server.js';
import { exitWith } from '../lib/action.js';
import { addConnectOptions, parseMs, parseName, parseNatsUrl } from '../lib/options.js';

// Set by the orchestrator on the tiers it starts; not for people.
const exitWithParent = () =>
  new Option('--exit-with-parent', 'shut down when stdin closes').hideHelp();
const ignoreStop = () =>
  new Option('--ignore-stop', 'test hook: the server never checks its context').hideHelp();
const grace = () =>
  new Option('--grace-ms <ms>', 'on the first signal, how long in-flight streams may finish')
    .argParser(parseMs(0))
    .default(5000);

/**
 * Registers `andon demo` (all three tiers, as child processes) and its subcommands
 * `server`, `middle` and `client`, the request-cancellation demo of NVIDIA Dynamo.
 */
export function registerDemo(program: Command): void {
  // `demo` and its subcommands share option names (--namespace, --ignore-stop): an option
  // belongs to the command it follows, not to whichever parent also knows it.
  const demo = program
    .command('demo')
    .enablePositionalOptions()
    .description(
      'run the three-tier cancellation demo: a client stops its request after 3 responses, and the stop reaches the server through the middle tier',
    )
    .option('--namespace <name>', 'namespace of the demo endpoints', parseName, 'demo')
    .option(
      '--timeout <ms>',
      "fail unless the server prints its cancel line and the client exits within this long of the client's start",
      parseMs(1),
      5000,
    )
    .option(
      '--startup-timeout <ms>',
      'fail unless the tiers are serving within this long',
      parseMs(1),
      15_000,
    )
    .option(
      '--kill-after <ms>',
      'when ending a tier, SIGKILL it this long after SIGTERM',
      parseMs(1),
      3000,
    )
    .option('--verbose', "show the tiers' startup and shutdown messages")
    .addOption(
      new Option(
        '--nats <url>',
        'run the tiers over NATS at this server (transport and discovery) instead of TCP and a fresh discovery directory; the namespace gets a per-run suffix so that demos sharing a server stay apart',
      ).argParser(parseNatsUrl),
    )
    .addOption(ignoreStop())
    .action(
      exitWith((o: Record<string, unknown>) =>
        runDemo({
          namespace: o.namespace as string,
          ...(o.nats === undefined ? {} : { nats: o.nats as string }),
          timeoutMs: o.timeout as number,
          startupMs: o.startupTimeout as number,
          killAfterMs: o.killAfter as number,
          verbose: o.verbose === true,
          ignoreStop: o.ignoreStop === true,
        }),
      ),
    );

  addConnectOptions(
    demo
      .command('server')
      .description(
        'serve <namespace>/server/generate: the numbers 0..999, one every 100 ms, until stopped',
      ),
  )
    .addOption(grace())
    .addOption(exitWithParent())
    .addOption(ignoreStop())
    .action(exitWith(runServer, 'demo server'));

  addConnectOptions(
    demo
      .command('middle')
      .description(
        "serve <namespace>/middle/generate, forwarding to the server with the caller's context",
      ),
  )
    .addOption(grace())
    .addOption(exitWithParent())
    .action(exitWith(runMiddle, 'demo middle'));

  addConnectOptions(
    demo
      .command('client')
      .description('call the server (or the middle) and stop the request after 3 responses'),
  )
    .option('--middle', 'call the middle tier instead of the server', false)
    .option(
      '--wait <ms>',
      'how long to wait for the tier to appear in discovery',
      parseMs(0),
      10_000,
    )
    .addOption(exitWithParent())
    .action(
      exitWith(
        ({ wait, ...rest }: Omit<ClientOptions, 'waitMs'> & { wait: number }) =>
          runClient({ ...rest, waitMs: wait }),
        'demo client',
      ),
    );
}
