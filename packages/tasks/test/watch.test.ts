import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { MemoryStore } from '../src/memory-store.js';
import type { TaskRecord } from '../src/task.js';
import { TaskWatch } from '../src/watch.js';

// A store shared across processes may show a task's ending (its record) before its last
// events can be read (JetStream: the record is written, then the terminal event). A watch
// that catches up at that moment must read on, not end without them.

class LaggingEvents extends MemoryStore {
  hidden = 0;
  /** Reads that came back short because events were hidden. */
  shortReads = 0;
  override async events(id: string, after: number, limit?: number) {
    const events = await super.events(id, after, limit);
    const shown = events.slice(0, Math.max(0, events.length - this.hidden));
    if (shown.length < events.length) this.shortReads++;
    return shown;
  }
}

const record = (id: string): TaskRecord => ({
  id,
  app: 'demo',
  model: 'Count',
  status: 'queued',
  input: {},
  createdAt: 1,
  lastSeq: 0,
});

describe('TaskWatch over a store that shows the ending first', () => {
  it('reads on until the terminal event, and ends with it', async () => {
    const store = new LaggingEvents();
    await store.insert(record('t'));
    await store.start('t', 2);
    await store.append('t', 'progress', { i: 1 }, 3);
    await store.finish('t', { status: 'completed', finalValue: 1 }, 4, 1e12);
    // The record says ended with seq 2; the terminal event is not readable yet.
    store.hidden = 1;
    const watch = new TaskWatch(store, 't', 0, 16);
    expect((await watch.next()).value).toMatchObject({ seq: 1, type: 'progress' });
    const readsBefore = store.shortReads;
    const terminal = watch.next();
    // The watch reads, finds the terminal event not there yet, and must read on: the event
    // becomes readable only after it has looked and missed.
    await waitFor(() => store.shortReads > readsBefore, 'the watch to miss the terminal event');
    store.hidden = 0;
    expect((await terminal).value).toMatchObject({ seq: 2, type: 'complete' });
    expect((await watch.next()).done).toBe(true);
  });
});
