// Structured concurrency: a request fans out into three tasks in a TaskGroup. Two ways to
// end it early, each leaving nothing running:
// - another async task (the user's "stop" button) cancels the group;
// - a timeout: the request's deadline passes.
// Either way every task's cleanup (its `finally`) has run when group.wait() returns.
//
// Run: npm run build && node examples/context/task-group.mjs
import { Context, isCancelledError, sleep, TaskGroup } from '@andon/context';

/** A worker task that runs until its context stops, then cleans up. */
async function part(name, ctx) {
  try {
    await sleep(60_000, ctx);
  } finally {
    console.log(`  ${name}: cleaned up (${ctx.reason?.kind})`);
  }
}

async function fanOut(request, title) {
  console.log(title);
  const group = new TaskGroup(request);
  for (const name of ['search', 'summarise', 'translate']) group.spawn((ctx) => part(name, ctx));
  return group;
}

// 1. Cancelled from another async task after 50 ms.
{
  const request = new Context();
  const group = await fanOut(request, 'cancelled by another task:');
  setTimeout(() => group.cancel('the user pressed stop'), 50);
  await group.wait(); // a cancel ends the group without an error
  console.log(`  group ended: ${group.running} running`);
  request.dispose();
}

// 2. A 100 ms timeout on the request.
{
  const request = new Context({ timeoutMs: 100 });
  const group = await fanOut(request, 'timed out:');
  try {
    await group.wait();
  } catch (error) {
    if (!isCancelledError(error)) throw error;
    console.log(`  group ended: ${error.reason.kind}, ${group.running} running`);
  }
  request.dispose();
}
