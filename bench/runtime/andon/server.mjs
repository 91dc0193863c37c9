// andon server tier: one 32-byte binary item every ~1 ms until stopped (cancel trials), or
// `items` items as fast as credit allows (throughput trials); `echo` answers one item (for
// the request/response measure in bench/nats).
import { now, report } from '../tier.mjs';
import { namespaceOf, newAddress, startRuntime } from './common.mjs';

const PAYLOAD = new Uint8Array(32).fill(7);
const KEEP = 16;
const address = newAddress();
const rt = await startRuntime(address);
const server = rt.namespace(namespaceOf(address)).component('server');

await server.endpoint('generate').serve(async function* (request, ctx) {
  if (request.mode === 'throughput') {
    for (let i = 0; i < request.items && !ctx.isStopped(); i++) yield PAYLOAD;
    return;
  }
  let tObs;
  ctx.onStop(() => {
    tObs = now();
  });
  const producedAt = [];
  try {
    while (!ctx.isStopped()) {
      producedAt.push(now());
      if (producedAt.length > KEEP) producedAt.shift();
      yield PAYLOAD;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    if (tObs !== undefined) {
      report({
        type: 'observed',
        trial: request.trial,
        tObs: String(tObs),
        producedAt: producedAt.map(String),
      });
    }
  }
});

await server.endpoint('echo').serve((request) => request);

report({ type: 'ready', address });
