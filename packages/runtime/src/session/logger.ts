import pino from 'pino';

/** The logging surface the runtime needs; a pino logger satisfies it. */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * Structured JSON logs on stderr; `ANDON_LOG_LEVEL` sets the level (default `warn`). An
 * unknown level throws a TypeError naming the valid ones, rather than logging at another.
 */
export function defaultLogger(): Logger {
  const level = process.env.ANDON_LOG_LEVEL || 'warn';
  if (!LEVELS.includes(level)) {
    throw new TypeError(
      `ANDON_LOG_LEVEL=${level} is not a log level: use one of ${LEVELS.join(', ')}`,
    );
  }
  return pino({ name: 'andon', level }, pino.destination({ dest: 2, sync: false }));
}
