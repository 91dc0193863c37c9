// andon client tier: runs the harness's cancel and throughput trials.
import { Context } from '@andon/context';
import { now, onCommand, report, tierArgs } from '../tier.mjs';
import { namespaceOf, startRuntime } from './common.mjs';

const { server: address } = tierArgs();
const rt = await startRuntime(address);
const ns = rt.namespace(namespaceOf(address));
const clients = {
  direct: await ns.component('server').endpoint('generate').client(),
  middle: await ns.component('middle').endpoint('generate').client(),
};
await clients.direct.waitForInstances();
await clients.middle.waitForInstances();

onCommand(async (command) => {
  if (command.type === 'cancel-trial') {
    const ctx = new Context();
    const stream = await clients[command.route].generate(
      { mode: 'cancel', trial: command.trial },
      { context: ctx },
    );
    let received = 0;
    let tStop;
    for await (const _item of stream) {
      received++;
      if (received === 3) {
        tStop = now();
        ctx.stop();
      }
    }
    ctx.dispose();
    report({ type: 'cancel-result', trial: command.trial, tStop: String(tStop), received });
  } else if (command.type === 'throughput') {
    const start = now();
    let items = 0;
    const one = async () => {
      const stream = await clients[command.route].generate({
        mode: 'throughput',
        trial: command.trial,
        items: command.itemsPerStream,
      });
      for await (const _item of stream) items++;
    };
    await Promise.all(Array.from({ length: command.streams }, one));
    report({ type: 'throughput-result', trial: command.trial, items, ns: String(now() - start) });
  }
});

report({ type: 'ready' });
