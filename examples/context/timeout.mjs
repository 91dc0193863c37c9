// A timeout: the request has a 100 ms budget; a sub-call asks for 1 s but gets the request's
// deadline, so it is cut off with kind 'parent' (cause: 'deadline'), and the request itself
// reports 'deadline'.
//
// Run: npm run build && node examples/context/timeout.mjs
import { Context, isCancelledError, race, sleep } from '@andon/context';

const request = new Context({ timeoutMs: 100 });
const call = request.child({ timeoutMs: 1_000 });
console.log(
  `sub-call budget: ${call.remainingMs() <= 100 ? 'capped at the request deadline' : 'its own'}`,
);

async function slowBackend(ctx) {
  await sleep(1_000, ctx);
  return 'answer';
}

try {
  console.log(await race(slowBackend(call), request));
} catch (error) {
  if (!isCancelledError(error)) throw error;
  console.log(`request: ${error.reason.kind} (${error.reason.message})`);
  console.log(`sub-call: ${call.reason.kind}, cause ${call.reason.cause.kind}`);
} finally {
  call.dispose();
  request.dispose();
}
