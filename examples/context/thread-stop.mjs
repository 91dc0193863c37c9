// A stop from another thread wakes code in the main thread that is blocked in a long await.
// The worker stands in for any synchronous code on another thread (a keyboard reader, a
// native callback): it calls stop() on the shared context, and the main thread's await ends
// at once, because the stop wakes the main event loop (Atomics.waitAsync), not on the next
// tick of some poll.
//
// Run: npm run build && node examples/context/thread-stop.mjs
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Context, isCancelledError, openSharedContext, shareContext, sleep } from '@andon/context';

if (isMainThread) {
  const ctx = new Context({ id: 'long-wait' });
  const shared = shareContext(ctx);
  const worker = new Worker(new URL(import.meta.url), { workerData: shared.buffer });
  worker.once('message', () => console.log('main: waiting an hour for something'));
  try {
    await sleep(3_600_000, ctx); // a long await: a slow model, a lock, a network read
  } catch (error) {
    if (!isCancelledError(error)) throw error;
    const wokeAt = performance.timeOrigin + performance.now();
    const lagMs = wokeAt - error.reason.at;
    console.log(`main: woken by "${error.reason.message}" ${lagMs.toFixed(2)} ms after the stop`);
  } finally {
    shared.dispose();
    ctx.dispose();
    await worker.terminate();
  }
} else {
  const shared = openSharedContext(workerData);
  parentPort.postMessage('ready');
  // Synchronous code in another thread decides to stop the request.
  setTimeout(() => shared.stop('stopped from a worker thread'), 100);
}
