import type { Logger } from './logger.js';
import type { RuntimeStats } from './stats.js';

/** How many warnings with one message may be logged per window; the rest are counted. */
export const WARNINGS_PER_WINDOW = 5;
export const WARNING_WINDOW_MS = 10_000;

interface Window {
  startedAt: number;
  logged: number;
  suppressed: number;
}

/**
 * A logger whose warnings are rate-limited per message: a peer that sends garbage on
 * thousands of connections gets a handful of lines per window, not a line each. What is
 * held back is counted in `stats.warningsSuppressed`, and the next line logged for that
 * message says how many it stands for. Other levels pass through.
 */
export function limitWarnings(log: Logger, stats: RuntimeStats): Logger {
  return new LimitedLogger(log, new Map(), stats);
}

class LimitedLogger implements Logger {
  constructor(
    private readonly inner: Logger,
    private readonly windows: Map<string, Window>,
    private readonly stats: RuntimeStats,
  ) {}

  debug(object: object, message?: string): void {
    this.inner.debug(object, message);
  }

  info(object: object, message?: string): void {
    this.inner.info(object, message);
  }

  error(object: object, message?: string): void {
    this.inner.error(object, message);
  }

  warn(object: object, message = ''): void {
    const now = performance.now();
    let window = this.windows.get(message);
    if (window === undefined || now - window.startedAt >= WARNING_WINDOW_MS) {
      const held = window?.suppressed ?? 0;
      window = { startedAt: now, logged: 0, suppressed: 0 };
      this.windows.set(message, window);
      if (held > 0) {
        this.inner.warn({ ...object, suppressedBefore: held }, message);
        window.logged++;
        return;
      }
    }
    if (window.logged < WARNINGS_PER_WINDOW) {
      window.logged++;
      this.inner.warn(object, message);
      return;
    }
    window.suppressed++;
    this.stats.warningsSuppressed++;
  }

  child(bindings: Record<string, unknown>): Logger {
    return new LimitedLogger(this.inner.child(bindings), this.windows, this.stats);
  }
}
