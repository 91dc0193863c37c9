// Helpers for tier processes of any configuration: the harness forks each tier with an IPC
// channel and passes its settings as JSON in argv[2]. See harness.mjs for the contract.

/** The settings the harness passed: { role, server?, middle? } (addresses are opaque). */
export function tierArgs() {
  return JSON.parse(process.argv[2] ?? '{}');
}

/** Sends one message to the harness. Bigints must already be strings. */
export function report(message) {
  process.send?.(message);
}

/** Calls `handler` for every command the harness sends. */
export function onCommand(handler) {
  process.on('message', (message) => {
    Promise.resolve()
      .then(() => handler(message))
      .catch((error) => report({ type: 'error', message: String(error?.stack ?? error) }));
  });
}

// A tier must not outlive its harness: the IPC channel closing means the harness is gone.
process.on('disconnect', () => process.exit(0));

/** The clock every tier shares on Linux (CLOCK_MONOTONIC), in ns. */
export const now = () => process.hrtime.bigint();
