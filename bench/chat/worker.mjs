// The `--workers 1` tier of the chat bench: a SimulatedEngine served on a runtime endpoint
// over TCP (what `andon worker` runs), forked with an IPC channel. It reports each
// cancellation the moment the engine released the slot (process.hrtime: CLOCK_MONOTONIC,
// one clock for every process on the machine) and answers stats requests.
import { Runtime } from '@andon/runtime';
import { engineHandler, SimulatedEngine } from '@andon/server';

const { dir, engine: engineOptions } = JSON.parse(process.argv[2]);
const engine = new SimulatedEngine(engineOptions);
engine.on((event) => {
  if (event.type === 'cancelled')
    process.send({ kind: 'cancelled', at: `${process.hrtime.bigint()}` });
});
const rt = await Runtime.start({ transport: 'tcp', host: '127.0.0.1', discoveryDir: dir });
await rt.namespace('andon').component('engine').endpoint('generate').serve(engineHandler(engine));
process.on('message', (message) => {
  if (message.kind === 'stats') process.send({ kind: 'stats', stats: engine.stats() });
});
process.on('disconnect', async () => {
  engine.close();
  await rt.shutdown({ graceMs: 0 });
  process.exit(0);
});
process.send({ kind: 'ready' });
