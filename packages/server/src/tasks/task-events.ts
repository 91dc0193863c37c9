import {
  type TaskEvent,
  type TaskManager,
  type TaskRecord,
  WatcherLaggedError,
} from '@andon/tasks';
import type { Exchange } from '../http/exchange.js';
import { SseWriter } from '../http/sse.js';

// How long an EventSource waits before it reconnects (after a `lagged` drop, or a network blip).
const RECONNECT_MS = 1_000;

// A live event reaches every watcher as the same object: format it once, not per watcher
// (a thousand watchers would stringify it a thousand times).
const frames = new WeakMap<TaskEvent, string>();

function frameOf(event: TaskEvent): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    frame = `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
    frames.set(event, frame);
  }
  return frame;
}

/**
 * Streams a task's events as SSE: `id: <seq>`, `event: <type>`, `data: <json>`; stored
 * events after `after` first, then live ones. Ends after the terminal event, so every
 * watcher gets exactly one. A watcher too slow for its buffer gets `event: lagged` with
 * `{ resume_after }` and the stream ends: an EventSource reconnects with `Last-Event-ID`
 * and replays the rest from the store. A client that leaves releases the watch at once.
 */
export async function streamTaskEvents(
  exchange: Exchange,
  tasks: TaskManager,
  task: TaskRecord,
  after: number,
  heartbeatMs: number,
): Promise<void> {
  const sse = new SseWriter(exchange.res, heartbeatMs);
  const watch = tasks.events(task.app, task.model, task.id, { after });
  // The client left, or the server is closing: stop waiting for events now.
  const leaving = exchange.context.onStop(() => void watch.return());
  try {
    sse.open();
    await sse.retry(RECONNECT_MS);
    for await (const event of watch) await sse.frame(frameOf(event));
  } catch (error) {
    if (!(error instanceof WatcherLaggedError)) throw error;
    await sse.event('lagged', { message: error.message, resume_after: error.resumeAfter });
  } finally {
    leaving.dispose();
    sse.end();
  }
}
