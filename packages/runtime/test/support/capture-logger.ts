import type { Logger } from '@andon/runtime';

/** A logger that appends `<level> <message> <fields as JSON>` to `lines`, for assertions. */
export function captureLogger(lines: string[]): Logger {
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: string) => (object: object, message?: string) => {
      lines.push(`${level} ${message ?? ''} ${JSON.stringify({ ...bindings, ...object })}`);
    };
    return {
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return make({});
}
