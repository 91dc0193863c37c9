// andon middle tier: forwards each stream to the server, passing its incoming context on.
import { report, tierArgs } from '../tier.mjs';
import { namespaceOf, startRuntime } from './common.mjs';

const { server: address } = tierArgs();
const rt = await startRuntime(address);
const ns = rt.namespace(namespaceOf(address));
const upstream = await ns.component('server').endpoint('generate').client();
await upstream.waitForInstances();

await ns
  .component('middle')
  .endpoint('generate')
  .serve(async function* (request, ctx) {
    yield* await upstream.generate(request, { context: ctx });
  });

report({ type: 'ready', address });
