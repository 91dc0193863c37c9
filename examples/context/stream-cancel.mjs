// Cancel a stream from another task: one task reads tokens from a slow model stream, another
// (standing in for the user's "stop" button) stops the request's context. The loop ends at
// once, even though the stream is waiting for its next token, and the stream cleans up.
//
// Run: npm run build && node examples/context/stream-cancel.mjs
import { Context, cancellable, isCancelledError, sleep } from '@andon/context';

/** A model that produces one token every 20 ms, forever. */
async function* model(ctx) {
  let n = 0;
  try {
    for (;;) {
      await sleep(20, ctx);
      yield `token-${n++}`;
    }
  } finally {
    console.log('model: stream closed, resources released');
  }
}

const request = new Context({ id: 'req-1' });
let thirdToken;
const sawThirdToken = new Promise((resolve) => {
  thirdToken = resolve;
});

// Task 1: the reader.
const reader = (async () => {
  const received = [];
  try {
    for await (const token of cancellable(model(request.child()), request)) {
      received.push(token);
      console.log(`reader: got ${token}`);
      if (received.length === 3) thirdToken();
    }
  } catch (error) {
    if (!isCancelledError(error)) throw error;
    console.log(
      `reader: stopped after ${received.length} tokens (${error.reason.kind}: ${error.reason.message})`,
    );
  }
})();

// Task 2: the user presses stop after seeing the third token, while the model is still
// waiting to produce the fourth.
await sawThirdToken;
request.stop('user pressed stop');

await reader;
request.dispose();
console.log(`request ${request.id}: ${JSON.stringify(await request.outcome())}`);
