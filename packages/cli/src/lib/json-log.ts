import type { OpenAIServerOptions } from '@andon/server';

// The front end logs one JSON line per request. OpenAIServer's default logger writes them
// on stdout, which here carries only the command's own lines (the URL, a worker's ready
// line) that people and scripts read. pino is not a dependency of this package (adding it
// means touching the shared lockfile), so this is the small pino-shaped logger the server
// needs, writing JSON lines on stderr.

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type Level = keyof typeof LEVELS;

/** The front end's request logger: JSON lines on stderr at `$ANDON_LOG_LEVEL` (default info). */
export function requestLogger(name: string): NonNullable<OpenAIServerOptions['logger']> {
  const wanted = process.env.ANDON_LOG_LEVEL;
  const threshold =
    wanted !== undefined && wanted in LEVELS ? LEVELS[wanted as Level] : LEVELS.info;
  // The server calls child/debug/info/error; the cast stands for the rest of pino's surface.
  return jsonLogger({ name }, threshold) as unknown as NonNullable<OpenAIServerOptions['logger']>;
}

function jsonLogger(bindings: Record<string, unknown>, threshold: number) {
  const write = (level: Level) => (object: object, message?: string) => {
    if (LEVELS[level] < threshold) return;
    const line = { level: LEVELS[level], time: Date.now(), ...bindings, ...serialise(object) };
    process.stderr.write(
      `${JSON.stringify(message === undefined ? line : { ...line, msg: message })}\n`,
    );
  };
  const logger = {
    level: Object.keys(LEVELS).find((k) => LEVELS[k as Level] === threshold) ?? 'info',
    trace: write('trace'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    fatal: write('fatal'),
    isLevelEnabled: (level: string) => (LEVELS[level as Level] ?? 0) >= threshold,
    child: (more: Record<string, unknown>): unknown =>
      jsonLogger({ ...bindings, ...more }, threshold),
  };
  return logger;
}

// Errors do not survive JSON.stringify (their fields are not enumerable); pino's `err`
// serialiser keeps type, message and stack, and so does this.
function serialise(object: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    out[key] =
      value instanceof Error
        ? { type: value.name, message: value.message, stack: value.stack }
        : value;
  }
  return out;
}
