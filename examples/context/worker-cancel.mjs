// Cancel CPU-bound work in a worker thread from the main thread. The worker's loop never
// yields; it checks the shared context with one atomic read per iteration and sees the stop
// on its next check.
//
// Run: npm run build && node examples/context/worker-cancel.mjs
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Context, openSharedContext, shareContext } from '@andon/context';

if (isMainThread) {
  const ctx = new Context({ id: 'hash-job' });
  const shared = shareContext(ctx);
  const worker = new Worker(new URL(import.meta.url), { workerData: shared.buffer });
  worker.once('message', (message) => {
    if (message === 'started') {
      console.log('main: worker started, stopping it in 100 ms');
      setTimeout(() => ctx.stop('the user no longer needs the result'), 100);
    }
  });
  worker.on('message', (message) => {
    if (message !== 'started') console.log(`main: worker says ${JSON.stringify(message)}`);
  });
  worker.once('exit', (code) => {
    console.log(`main: worker exited with code ${code}`);
    ctx.dispose();
  });
} else {
  const shared = openSharedContext(workerData);
  parentPort.postMessage('started');
  let rounds = 0;
  let x = 0;
  // Pure CPU, no await: only the atomic read can see the stop.
  while (!shared.isStopped()) {
    for (let i = 0; i < 10_000; i++) x = (x * 31 + i) | 0;
    rounds++;
  }
  parentPort.postMessage({ stoppedAfterRounds: rounds > 0, reason: shared.reason.message });
  shared.dispose();
}
