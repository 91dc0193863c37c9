/**
 * Reads a stream to its end: the items, and the error it ended with (undefined for a
 * normal end). `onItem` sees each item and how many have arrived, so a test can stop or
 * kill mid-stream.
 */
export async function drain<T>(
  stream: AsyncIterable<T>,
  onItem?: (item: T, count: number) => void,
): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = [];
  try {
    for await (const item of stream) {
      items.push(item);
      onItem?.(item, items.length);
    }
    return { items, error: undefined };
  } catch (error) {
    return { items, error };
  }
}
