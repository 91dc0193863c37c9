/** Receives errors thrown by callbacks and finalizers, which must not stop the others. */
export type ErrorReporter = (error: unknown, where: string) => void;

const defaultReporter: ErrorReporter = (error, where) => {
  console.error(`[@andon/context] ${where} threw:`, error);
};

let reporter: ErrorReporter = defaultReporter;

/**
 * Routes errors thrown by `onStop`/`onKill` callbacks and `defer` finalizers. The default
 * prints them with `console.error`; they are never swallowed. Returns the previous reporter.
 *
 * @example
 * setErrorReporter((error, where) => logger.error({ err: error, where }, 'callback failed'));
 */
export function setErrorReporter(next: ErrorReporter | undefined): ErrorReporter {
  if (next !== undefined && typeof next !== 'function') {
    throw new TypeError('setErrorReporter(reporter): reporter must be a function or undefined');
  }
  const previous = reporter;
  reporter = next ?? defaultReporter;
  return previous;
}

export function reportError(error: unknown, where: string): void {
  try {
    reporter(error, where);
  } catch (reporterError) {
    defaultReporter(reporterError, 'the error reporter');
  }
}
