import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../src/memory-store.js';
import type { TaskRecord } from '../src/task.js';
import { TaskWatch } from '../src/watch.js';

// A store shared across processes may show a task's ending (its record) before its last
// events can be read (JetStream: the record is written, then the terminal event). A watch
// that catches up at that moment must read on, not end without them.

class LaggingEvents extends MemoryStore {
  hidden = 0;
  override async events(id: string, after: number, limit?: number) {
    const events = await super.events(id, after, limit);
    return events.slice(0, Math.max(0, events.length - this.hidden));
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
    const terminal = watch.next();
    // The watch has caught up with what it can read; the event becomes readable later.
    await new Promise((resolve) => setTimeout(resolve, 50));
    store.hidden = 0;
    expect((await terminal).value).toMatchObject({ seq: 2, type: 'complete' });
    expect((await watch.next()).done).toBe(true);
  });
});
