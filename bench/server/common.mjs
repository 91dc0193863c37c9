// Helpers shared by the processes of the server benchmark. run.mjs forks each process with an
// IPC channel and passes its settings as JSON in argv[2]; processes answer with messages.

/** The settings run.mjs passed to this process. */
export function processArgs() {
  return JSON.parse(process.argv[2] ?? '{}');
}

/** Sends one message to run.mjs. */
export function report(message) {
  process.send?.(message);
}

/** Calls `handler` for every command run.mjs sends; its result (or error) is the reply. */
export function onCommand(handler) {
  process.on('message', (message) => {
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (result) => report({ type: 'reply', seq: message.seq, result }),
        (error) =>
          report({ type: 'reply', seq: message.seq, error: String(error?.stack ?? error) }),
      );
  });
}

// No process of the benchmark outlives run.mjs: the IPC channel closing means it is gone.
process.on('disconnect', () => process.exit(0));

/**
 * The clock every process shares on Linux (CLOCK_MONOTONIC), as microseconds since the base
 * run.mjs chose, so that timestamps of different processes can be subtracted.
 */
export function clockSince(baseNs) {
  const base = BigInt(baseNs);
  return () => Number(process.hrtime.bigint() - base) / 1000;
}

/** Request ids carry the client's intent, so the worker knows which requests get abandoned. */
export const ABANDON_SUFFIX = '-a';
