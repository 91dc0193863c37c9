// andon-over-NATS middle tier: forwards each stream to the backend, passing its incoming
// context on.
import { report, tierArgs } from '../../runtime/tier.mjs';
import { startRuntime } from './common.mjs';

const { backend: ns } = tierArgs();
const rt = await startRuntime();
const upstream = await rt.namespace(ns).component('backend').endpoint('generate').client();
await upstream.waitForInstances();

await rt
  .namespace(ns)
  .component('middle')
  .endpoint('generate')
  .serve(async function* (request, ctx) {
    yield* await upstream.generate(request, { context: ctx });
  });

report({ type: 'ready', address: ns });
