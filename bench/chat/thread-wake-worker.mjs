// Worker thread of the cross-thread part: stops a shared context (andon) or posts a message
// (the baseline), stamping the moment just before, in a shared BigInt64Array.
import { parentPort } from 'node:worker_threads';
import { openSharedContext } from '@andon/context';

parentPort.on('message', ({ kind, buffer, stamps, delayMs }) => {
  const stamp = new BigInt64Array(stamps);
  const shared = kind === 'andon' ? openSharedContext(buffer) : undefined;
  setTimeout(() => {
    Atomics.store(stamp, 0, process.hrtime.bigint());
    if (shared) {
      shared.stop('stopped from a worker thread');
      shared.dispose();
    } else parentPort.postMessage('stop');
  }, delayMs);
});
