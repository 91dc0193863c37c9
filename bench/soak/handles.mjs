// What both soak processes count to tell a leak from a handle that is still closing.

/**
 * Active handles after gc, the fewest seen over five rounds 20 ms apart: a leaked handle
 * stays in every round, while one that is merely closing (a socket's last write, a grace
 * timer about to fire) is gone in a later one and must not count as a leak.
 */
export async function settledHandles() {
  let fewest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    globalThis.gc();
    const count = process.getActiveResourcesInfo().filter((kind) => kind !== 'TTYWrap').length;
    fewest = Math.min(fewest, count);
  }
  return fewest;
}
