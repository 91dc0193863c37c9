// Worker side of the stop-latency benchmark: opens each shared context it is sent, waits
// for the stop and reports when its stopped() promise resolved (hrtime is one clock for all
// threads of a process).
import { parentPort } from 'node:worker_threads';
import { openSharedContext } from '@andon/context';

parentPort.on('message', async (message) => {
  if (message.kind === 'shared') {
    const shared = openSharedContext(message.buffer);
    parentPort.postMessage({ kind: 'ready' });
    await shared.stopped();
    const at = process.hrtime.bigint();
    shared.dispose();
    parentPort.postMessage({ kind: 'seen', at });
  } else if (message.kind === 'ping') {
    // Baseline: the same wake-up carried by postMessage instead of shared memory.
    parentPort.postMessage({ kind: 'seen', at: process.hrtime.bigint() });
  }
});
