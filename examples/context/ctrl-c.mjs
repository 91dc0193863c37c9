// Ctrl-C stops a long job gracefully: it finishes the item in hand, then writes a
// checkpoint. A second Ctrl-C kills it: the checkpoint is abandoned and the job ends now.
// A third Ctrl-C gets Node's default (the process exits), in case the job ignores its kill.
//
// Run: npm run build && node examples/context/ctrl-c.mjs     (then press Ctrl-C, twice)
import { Context, isCancelledError, sleep } from '@andon/context';
import { signalContext } from '@andon/context/node';

const job = signalContext();
job.onStop((reason) =>
  console.log(`job: ${reason.message}: finishing the current item (Ctrl-C again to kill)`),
);

// Work in hand runs under a context that only a kill reaches: a stop lets it finish.
const hard = new Context();
const forwardKill = job.onKill((reason) => hard.kill(reason));

console.log('job: running; press Ctrl-C to stop gracefully');
let items = 0;
try {
  while (!job.isStopped()) {
    await sleep(300, hard);
    console.log(`job: item ${++items} done`);
  }
  console.log('job: writing checkpoint…');
  await sleep(1_000, hard);
  console.log(`job: checkpoint written after ${items} items`);
} catch (error) {
  if (!isCancelledError(error)) throw error;
  console.log(`job: killed by a second Ctrl-C, checkpoint abandoned`);
} finally {
  forwardKill.dispose();
  hard.dispose();
  job.dispose();
  console.log(`job: exit, ${job.state}`);
}
