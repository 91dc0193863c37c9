import type { Subscription } from '@andon/context';

// One concept, one definition: the server's registrations (engine events, metrics, queue
// updates) are undone like a context's onStop, so they share @andon/context's type.
export type { Subscription };

/** Wraps an undo function as a {@link Subscription}. */
export function subscription(dispose: () => void): Subscription {
  return { dispose, [Symbol.dispose]: dispose };
}
