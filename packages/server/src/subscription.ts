/** A registration that can be undone, by `dispose()` or by `using`. */
export interface Subscription extends Disposable {
  dispose(): void;
}

/** Wraps an undo function as a {@link Subscription}. */
export function subscription(dispose: () => void): Subscription {
  return { dispose, [Symbol.dispose]: dispose };
}
