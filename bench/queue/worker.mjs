// The worker process of bench:queue: a SimulatedEngine on a runtime endpoint (TCP, file
// discovery in the bench's temp dir). It reports each cancelled sequence to run.mjs with the
// shared monotonic clock, right after the engine freed its slot.
import { Runtime } from '@andon/runtime';
import { engineHandler, SimulatedEngine } from '@andon/server';
import { pino } from 'pino';
import { clockSince, processArgs, report } from '../server/common.mjs';

const { discoveryDir, baseNs } = processArgs();
const now = clockSince(baseNs);
const engine = new SimulatedEngine({
  slots: 4,
  tokenMs: 5,
  prefillBaseMs: 1,
  prefillMsPerToken: 0,
});
engine.on((event) => {
  if (event.type === 'cancelled') report({ type: 'cancelled', at: now(), id: event.requestId });
});
const rt = await Runtime.start({
  transport: 'tcp',
  host: '127.0.0.1',
  discoveryDir,
  logger: pino({ level: 'error' }, pino.destination(2)),
});
await rt.namespace('bench').component('engine').endpoint('generate').serve(engineHandler(engine));
report({ type: 'ready' });
