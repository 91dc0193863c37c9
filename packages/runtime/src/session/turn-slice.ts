// Response pumps run on promise callbacks, and Node runs those to exhaustion before any
// timer or socket gets a turn. A handler whose items are ready at once (a loop of yields)
// would otherwise hold the event loop for its whole credit window, times every stream:
// with 1000 streams on a loaded 2-core machine that was over a second, long enough for
// heartbeats and lease renewals to go unsent and a healthy instance to be declared dead,
// and for every stop arriving meanwhile to wait. So all pumps in the process share one
// slice of time per turn of the event loop; once it is spent they continue in the next
// turn, after timers and I/O have run.

/**
 * How long pumps may run before the event loop turns: the web's "long task". Shorter
 * slices cost throughput where a middle tier relays many streams: each pause leaves the
 * items still arriving to be buffered, and at 5 ms the extra garbage collection doubled
 * the middle's CPU per item.
 */
const SLICE_MS = 50;

/**
 * Items a pump produces between looks at the slice. A look costs a clock read; the price
 * is overshoot, by up to this many items per busy stream.
 */
export const ITEMS_PER_LOOK = 32;

let sliceStart = -1;
let spent = false;
const waiting: (() => void)[] = [];

function endSlice(): void {
  sliceStart = -1;
  spent = false;
}

/**
 * Whether pumps may go on producing in this turn of the event loop. When it returns false,
 * the pump goes on through {@link continueNextTurn}.
 */
export function sliceLeft(): boolean {
  if (sliceStart < 0) {
    sliceStart = performance.now();
    // Runs after this turn's microtasks and the poll phase: the next slice starts fresh.
    setImmediate(endSlice);
    return true;
  }
  if (!spent) spent = performance.now() - sliceStart >= SLICE_MS;
  return !spent;
}

/**
 * Calls `resume` once timers and I/O have had a turn, together with every other pump that
 * is waiting.
 */
export function continueNextTurn(resume: () => void): void {
  // Two hops: a slice spent in an I/O callback would have its immediates run straight
  // after it, before the loop comes back round to timers; the second hop runs after them.
  if (waiting.length === 0) setImmediate(() => setImmediate(resumeWaiting));
  waiting.push(resume);
}

function resumeWaiting(): void {
  // They share whatever slice this turn has left, so no turn runs pumps for more than one.
  for (const resume of waiting.splice(0)) resume();
}
