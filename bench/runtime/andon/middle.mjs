// andon middle tier: forwards each stream to the backend, passing its incoming context on.
import { report, tierArgs } from '../tier.mjs';
import { NS, startRuntime } from './common.mjs';

const { backend: dir } = tierArgs();
const rt = await startRuntime(dir);
const upstream = await rt.namespace(NS).component('backend').endpoint('generate').client();
await upstream.waitForInstances();

await rt
  .namespace(NS)
  .component('middle')
  .endpoint('generate')
  .serve(async function* (request, ctx) {
    yield* await upstream.generate(request, { context: ctx });
  });

report({ type: 'ready', address: dir });
