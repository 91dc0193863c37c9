import type { CancelReason } from './reason.js';
import { reportError } from './report.js';

/** Called with the reason when a context is stopped or killed. */
export type CancelCallback = (reason: CancelReason) => void;

/**
 * What `onStop`, `onKill` and `linkChild` return: `dispose()` (or `using`) undoes the
 * registration or the link. Idempotent.
 */
export interface Subscription extends Disposable {
  dispose(): void;
}

/**
 * One `onStop`/`onKill` callback, and its place in its context's list.
 *
 * The list is intrusive (no Set, no iterator objects) because it is walked on the stop
 * path, which runs once per request and so runs cold: every object touched there is
 * latency.
 */
export class Registration implements Subscription {
  prev: Registration | undefined = undefined;
  next: Registration | undefined = undefined;

  constructor(
    public callback: CancelCallback | undefined,
    private list: Registrations | undefined,
  ) {}

  dispose(): void {
    this.callback = undefined;
    this.list?.remove(this);
    this.list = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** The callbacks of one kind (stop or kill) on one context, in registration order. */
export class Registrations {
  head: Registration | undefined = undefined;
  tail: Registration | undefined = undefined;
  size = 0;

  add(callback: CancelCallback): Registration {
    const registration = new Registration(callback, this);
    const tail = this.tail;
    registration.prev = tail;
    if (tail === undefined) this.head = registration;
    else tail.next = registration;
    this.tail = registration;
    this.size++;
    return registration;
  }

  // A removed registration keeps its own `next`, so a walk standing on it (a callback
  // that disposes itself) still finds the rest of the list.
  remove(registration: Registration): void {
    const { prev, next } = registration;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    this.size--;
  }

  /**
   * Calls every callback still registered, in order. A throwing callback does not stop
   * the others; its error goes to the error reporter.
   */
  run(reason: CancelReason, where: string): void {
    for (let r = this.head; r !== undefined; r = r.next) {
      const callback = r.callback;
      if (callback === undefined) continue;
      // runCallback's body, written out (docs/ARCHITECTURE.md, "The stop path runs cold").
      try {
        callback(reason);
      } catch (error) {
        reportError(error, where);
      }
    }
  }
}

export function runCallback(callback: CancelCallback, reason: CancelReason, where: string): void {
  try {
    callback(reason);
  } catch (error) {
    reportError(error, where);
  }
}
