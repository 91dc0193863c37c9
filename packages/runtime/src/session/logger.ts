import pino from 'pino';

/** The logging surface the runtime needs; a pino logger satisfies it. */
export interface Logger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Structured JSON logs on stderr; `ANDON_LOG_LEVEL` sets the level (default `warn`). */
export function defaultLogger(): Logger {
  return pino(
    { name: 'andon', level: process.env.ANDON_LOG_LEVEL ?? 'warn' },
    pino.destination({ dest: 2, sync: false }),
  );
}
