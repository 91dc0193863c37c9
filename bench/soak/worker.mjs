// The soak benchmark's worker: serves soak/worker/generate, a stream of `items` small
// items, and counts handlers that started and that finished (their finally ran), so the
// parent can tell that no stream was left behind. Answers "measure" on IPC with its heap
// (after gc), its active handles and those counts.
import { Runtime } from '@andon/runtime';
import { settledHandles } from './handles.mjs';

const rt = await Runtime.start({ transport: 'tcp', discoveryDir: process.env.SOAK_DIR });
let started = 0;
let finished = 0;
await rt
  .namespace('soak')
  .component('worker')
  .endpoint('generate')
  .serve(async function* ({ items }, context) {
    started++;
    try {
      for (let i = 0; i < items && !context.isStopped(); i++) {
        yield i;
        // An await per item, as a real producer has: a cancel lands between items.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      finished++;
    }
  });

process.on('message', async (message) => {
  if (message === 'measure') {
    process.send(await measure());
  } else if (message === 'exit') {
    await rt.shutdown({ graceMs: 0 });
    process.exit(0);
  }
});
process.send('ready');

async function measure() {
  const handles = await settledHandles();
  return {
    heapUsedBytes: process.memoryUsage().heapUsed,
    handles,
    handlersStarted: started,
    handlersFinished: finished,
    stats: rt.stats(),
  };
}
