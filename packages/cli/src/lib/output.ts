// stdout carries exactly the demo's lines (other tools and the orchestrator read them);
// everything a human needs besides goes to stderr, marked with the tier it comes from.

/** Prints one line of the demo's output on stdout. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** The prefix of every status line a demo tier writes on stderr. */
export function statusPrefix(tier: string): string {
  return `andon demo ${tier}: `;
}

/** The prefix of every status line a command other than the demo's writes: `andon worker: `. */
export function commandPrefix(command: string): string {
  return `andon ${command}: `;
}

/** Prints a routine status line (startup, shutdown) on stderr. */
export function status(tier: string, message: string): void {
  note(statusPrefix(tier), message);
}

/** Prints `message` on stderr after `prefix` (see {@link statusPrefix}, {@link commandPrefix}). */
export function note(prefix: string, message: string): void {
  process.stderr.write(`${prefix}${message}\n`);
}

/** What follows the prefix on a status line that reports a failure. */
export const ERROR = 'error: ';

/** Prints a failure on stderr; `andon demo` always shows these, routine lines only with --verbose. */
export function error(tier: string, message: string): void {
  status(tier, `${ERROR}${message}`);
}

/** The status line a serving tier prints once discovery publishes it. */
export const READY = 'serving ';

/** A readable one-liner for an error, with its code when it has one. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
