import { Option } from 'commander';
import { LOG_FORMATS } from './log.js';
import { parseHost, parseMs, parsePort } from './options.js';

// Option factories more than one command shares: the serving commands (worker, router,
// frontend, serve) and, for --log-format, the program itself.

/** `--grace-ms`: on the first signal, how long in-flight work may finish. */
export const graceOption = (help: string, ms = 5000) =>
  new Option('--grace-ms <ms>', help).argParser(parseMs(0)).default(ms);

/** Set on the children that `andon serve` starts; not for people. */
export const exitWithParentOption = () =>
  new Option('--exit-with-parent', 'shut down when stdin closes').hideHelp();

/** `--host`: the address to listen on. */
export const hostOption = (help: string) =>
  new Option('--host <host>', help).argParser(parseHost).default('127.0.0.1');

/** `--port`: the port to listen on; 0 picks a free one. */
export const portOption = (help: string, port = 0) =>
  new Option('--port <port>', `${help} (0: a free port)`).argParser(parsePort).default(port);

/** `--log-format`: readable lines or JSON; default pretty on a terminal, JSON otherwise. */
export const logFormatOption = () =>
  new Option(
    '--log-format <format>',
    'log lines on stderr: pretty (readable) or json (default: pretty on a terminal, json otherwise; or $ANDON_LOG_FORMAT)',
  ).choices(LOG_FORMATS);
