/**
 * Retrying JetStream calls through a server restart or a leader change: a write the server
 * never acknowledged is sent again (with the same message id, so it lands once) until
 * `RETRY_FOR_MS` has passed. What the server refused on purpose is not retried.
 */
const RETRY_FOR_MS = 15_000;

/** JetStream's code for a write whose expected last sequence did not match. */
const WRONG_LAST_SEQUENCE = 10071;

/** True for the server's refusal of a compare-and-set (someone else wrote first). */
export function isWrongLastSequence(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    (e.code === WRONG_LAST_SEQUENCE ||
      (typeof e.message === 'string' && e.message.startsWith('wrong last sequence')))
  );
}

// Errors that say the request may not have reached a working server.
function isTransient(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  const message = String((error as { message?: unknown } | null)?.message ?? '');
  return (
    name === 'TimeoutError' ||
    name === 'NoRespondersError' ||
    name === 'RequestError' ||
    /timeout|no responders|503|disconnect|reconnect|leader/i.test(message)
  );
}

export async function withRetries<T>(call: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + RETRY_FOR_MS;
  let wait = 50;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!isTransient(error) || Date.now() + wait > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 1_000);
    }
  }
}
