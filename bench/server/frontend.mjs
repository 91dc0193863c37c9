// The front-end process: two OpenAI front ends, each with its own runtime calling the worker
// over TCP (file discovery in the benchmark's temp dir). One runtime propagates cancellation
// (the default); the other has `propagateCancellation: false`, so a request whose client
// left only detaches and the worker keeps decoding it. run.mjs drives one of them at a time
// against the same worker, so both modes share the machine, the worker and its JIT state.
import { Runtime } from '@andon/runtime';
import { OpenAIServer } from '@andon/server';
import { pino } from 'pino';
import { onCommand, processArgs, report } from './common.mjs';

const { discoveryDir } = processArgs();
const logger = pino({ level: 'error' }, pino.destination(2));

const runtimes = [];
const servers = {};
for (const [mode, propagateCancellation] of [
  ['on', true],
  ['off', false],
]) {
  const rt = await Runtime.start({
    transport: 'tcp',
    host: '127.0.0.1',
    discoveryDir,
    propagateCancellation,
    logger,
  });
  runtimes.push(rt);
  const backend = await rt.namespace('bench').component('engine').endpoint('generate').client();
  await backend.waitForInstances({ timeoutMs: 10_000 });
  // Requests log at info; only errors are of interest here.
  const server = new OpenAIServer({ backend, host: '127.0.0.1', port: 0, logger });
  servers[mode] = { server, url: await server.listen() };
}

onCommand(async (command) => {
  switch (command.type) {
    case 'metrics': {
      const { server } = servers[command.mode];
      return { text: await server.metrics.registry.metrics() };
    }
    case 'shutdown':
      for (const { server } of Object.values(servers)) await server.close();
      for (const rt of runtimes) await rt.shutdown({ graceMs: 200, stopGraceMs: 200 });
      setImmediate(() => process.exit(0));
      return { ok: true };
    default:
      throw new Error(`frontend: unknown command ${command.type}`);
  }
});

report({ type: 'ready', urls: { on: servers.on.url, off: servers.off.url } });
