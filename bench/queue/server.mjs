// The server process of bench:queue: an OpenAIServer with tasks on 127.0.0.1, serving
// /v1/ws. Kinds: bench/Hold runs here and reports the moment its Context stops;
// bench/Gate runs one at a time (so the others queue) until cancelled; llm/Complete runs
// on the worker process through a runtime client.
import { Runtime } from '@andon/runtime';
import { defineBuiltinKinds, OpenAIServer } from '@andon/server';
import { TaskManager } from '@andon/tasks';
import { pino } from 'pino';
import { clockSince, processArgs, report } from '../server/common.mjs';

const { discoveryDir, baseNs } = processArgs();
const now = clockSince(baseNs);
const logger = pino({ level: 'error' }, pino.destination(2));
const rt = await Runtime.start({ transport: 'tcp', host: '127.0.0.1', discoveryDir, logger });
const backend = await rt.namespace('bench').component('engine').endpoint('generate').client();
await backend.waitForInstances({ timeoutMs: 20_000 });
const tasks = await TaskManager.open({ maxQueued: 100_000 });
defineBuiltinKinds(tasks, { backend, maxTokensLimit: 1_000_000 });
tasks.define(
  'bench',
  'Hold',
  async function* (_input, ctx) {
    ctx.onStop(() => report({ type: 'stopped', at: now(), id: ctx.id }));
    yield { phase: 'holding' };
    await ctx.stopped();
  },
  { concurrency: 1_000 },
);
tasks.define(
  'bench',
  'Gate',
  async (_input, ctx) => {
    await ctx.stopped();
  },
  { concurrency: 1 },
);
const server = new OpenAIServer({ backend, tasks, host: '127.0.0.1', port: 0, logger });
const url = await server.listen();
process.on('message', async (message) => {
  if (message.type !== 'exit') return;
  await tasks.shutdown({ graceMs: 200 });
  await server.close();
  await rt.shutdown({ graceMs: 200, stopGraceMs: 200 });
  process.exit(0);
});
report({ type: 'ready', url });
