import { connectNats } from '@andon/runtime/nats';
import type { TaskStore } from '@andon/tasks';

/** The NATS server has no JetStream: the tasks cannot be shared there. */
export class JetStreamUnavailableError extends Error {
  override readonly name = 'JetStreamUnavailableError';
}

/**
 * A JetStream task store on its own NATS connection (credentials in the URL or in
 * NATS_USER / NATS_PASSWORD / NATS_TOKEN, as for the runtime). `close` closes the store,
 * then the connection; it never rejects.
 *
 * `ANDON_TASK_LIVENESS_MS` (default 10 000) is how long a process may stay silent before
 * the tasks it runs are marked failed; the first process on a NATS server sets it for all.
 */
export async function openJetStreamTasks(
  url: string,
): Promise<{ store: TaskStore; display: string; close: () => void }> {
  // Loaded only when asked for, like the SQLite store.
  const { JetStreamStore } = await import('@andon/tasks/jetstream');
  const nats = await connectNats({ servers: url, name: 'andon tasks' });
  let store: TaskStore;
  try {
    store = await JetStreamStore.open({ connection: nats.connection, livenessMs: livenessMs() });
  } catch (error) {
    await nats.close();
    if ((error as Error).name === 'JetStreamNotEnabled') {
      throw new JetStreamUnavailableError(
        `the NATS server at ${nats.display} has no JetStream, where tasks are shared: start it with -js (nats-server -js -sd DIR), or keep tasks local with --store sqlite`,
        { cause: error },
      );
    }
    throw new Error(
      `cannot open the task store on JetStream at ${nats.display}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return {
    store,
    display: nats.display,
    // The manager closes the store on shutdown; the connection goes after it.
    close: () => void nats.close(),
  };
}

function livenessMs(): number {
  const raw = process.env.ANDON_TASK_LIVENESS_MS;
  if (raw === undefined || raw === '') return 10_000;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 100) {
    throw new TypeError(
      `ANDON_TASK_LIVENESS_MS must be a whole number of milliseconds >= 100, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}
