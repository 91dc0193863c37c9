/**
 * Epoch milliseconds with sub-millisecond precision. Cancellation reasons created by the
 * front end carry it in `at`, so "disconnect → engine stopped" can be measured below 1 ms,
 * and it stays comparable across processes on one host.
 */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
