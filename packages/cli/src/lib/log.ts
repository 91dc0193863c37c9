import { type DestinationStream, type Logger, pino } from 'pino';
import pinoPretty from 'pino-pretty';

// The CLI's one logger: pino, as in the runtime and the server. A person at a terminal gets
// one readable line per entry; a pipe or a file (a log collector, a test) gets JSON lines.
// Always on stderr: stdout carries only the command's own lines (its URL, a ready line).

/** The levels `$ANDON_LOG_LEVEL` accepts, most verbose first; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `pretty`: readable lines; `json`: one JSON object per line. */
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** `$ANDON_LOG_LEVEL` or `$ANDON_LOG_FORMAT` holds something that is not one of the choices. */
export class LogSettingError extends Error {
  override readonly name = 'LogSettingError';
}

let chosenFormat: LogFormat | undefined;

/**
 * Checks `$ANDON_LOG_LEVEL` and `$ANDON_LOG_FORMAT` and fixes the format for every logger
 * made afterwards: `flag` (`--log-format`) first, then the variable, else `pretty` when
 * stderr is a terminal and `json` otherwise. Throws {@link LogSettingError} naming the
 * valid values: a typo must not silently mean the default.
 *
 * @example
 * configureLogging(options.logFormat);   // once, before the command runs
 * const log = createLogger('andon-frontend');
 */
export function configureLogging(flag?: LogFormat, env: NodeJS.ProcessEnv = process.env): void {
  envLevel(env);
  const fromEnv = env.ANDON_LOG_FORMAT;
  if (fromEnv !== undefined && fromEnv !== '' && !isFormat(fromEnv)) {
    throw new LogSettingError(
      `ANDON_LOG_FORMAT=${fromEnv} is not a log format: use ${LOG_FORMATS.join(' or ')}`,
    );
  }
  chosenFormat = flag ?? (fromEnv ? (fromEnv as LogFormat) : defaultFormat());
  // Inherited by the processes this one starts (`serve --workers`, the demo's tiers): their
  // stderr is a pipe we relay to ours, so they should write what we would.
  env.ANDON_LOG_FORMAT = chosenFormat;
}

/**
 * A pino logger on stderr named `name`, at `$ANDON_LOG_LEVEL` (else `fallback`), in the
 * format {@link configureLogging} chose.
 *
 * @example
 * const log = createLogger('andon-runtime', 'warn');
 * log.warn({ peer }, 'heartbeat missed');
 */
export function createLogger(name: string, fallback: LogLevel = 'info'): Logger {
  const level = envLevel(process.env) ?? fallback;
  return pino({ name, level }, destination(chosenFormat ?? defaultFormat()));
}

/** A logger that writes nothing (a server whose output would scribble over a terminal UI). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

function envLevel(env: NodeJS.ProcessEnv): LogLevel | undefined {
  const wanted = env.ANDON_LOG_LEVEL;
  if (wanted === undefined || wanted === '') return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(wanted)) {
    throw new LogSettingError(
      `ANDON_LOG_LEVEL=${wanted} is not a log level: use one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return wanted as LogLevel;
}

function isFormat(value: string): value is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(value);
}

function defaultFormat(): LogFormat {
  return process.stderr.isTTY ? 'pretty' : 'json';
}

// Synchronous writes in both forms, so that log lines and the status lines written with
// process.stderr.write come out in the order they happened.
function destination(format: LogFormat): DestinationStream {
  if (format === 'json') return pino.destination({ dest: 2, sync: true });
  return pinoPretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    singleLine: true,
    translateTime: 'HH:MM:ss.l',
    // A request line reads as `request POST /v1/chat/completions 200 75.5 ms {…the rest}`.
    messageFormat: '{msg}{if method} {method} {path} {status} {durationMs} ms{end}',
    ignore: 'pid,hostname,method,path,endpoint,status,durationMs',
  });
}
