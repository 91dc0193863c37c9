/**
 * Something a discovery recovered from on its own but that an operator may want to
 * know about: a garbage lease file, a failed renewal, a listener that threw.
 */
export interface DiscoveryWarning {
  readonly code:
    | 'bad-lease-file'
    | 'renew-failed'
    | 'cleanup-failed'
    | 'scan-failed'
    | 'watch-failed'
    | 'listener-threw';
  readonly message: string;
  /** The file concerned, for file discovery. */
  readonly path?: string;
  readonly error?: unknown;
}

/** Receives discovery warnings; it must not throw. */
export type DiscoveryWarningHandler = (warning: DiscoveryWarning) => void;

/** Default handler: a process warning, which Node prints to stderr once per occurrence. */
export const emitDiscoveryWarning: DiscoveryWarningHandler = (warning) => {
  const detail = warning.error instanceof Error ? warning.error.message : undefined;
  process.emitWarning(warning.message, {
    type: 'AndonDiscoveryWarning',
    code: `ANDON_DISCOVERY_${warning.code.toUpperCase().replaceAll('-', '_')}`,
    ...(detail === undefined ? {} : { detail }),
  });
};

/** Calls `handler` and swallows what it throws: a broken logger must not break discovery. */
export function safeWarn(handler: DiscoveryWarningHandler, warning: DiscoveryWarning): void {
  try {
    handler(warning);
  } catch {
    // Nothing sensible left to report to.
  }
}

export function checkWarningHandler(value: unknown): DiscoveryWarningHandler {
  if (value === undefined) return emitDiscoveryWarning;
  if (typeof value !== 'function') {
    throw new TypeError(`onWarning must be a function, got ${typeof value}`);
  }
  return value as DiscoveryWarningHandler;
}
