// Request/response throughput of andon with N calls in flight, over NATS or TCP: the same
// measure as request-reply.mjs (raw NATS request/reply), with an andon client in this
// process calling the `echo` endpoint of an andon server in a child process. Each call is a
// whole andon stream: REQUEST, one DATA, END.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Runtime } from '@andon/runtime';
import { forkServer, measureInFlight } from './lib/server-tier.mjs';

const SERVER = fileURLToPath(new URL('../runtime/andon/server.mjs', import.meta.url));

/**
 * @example
 * const r = await andonRequestReply('nats', { natsUrl, inFlight: 100, durationMs: 3000 });
 * // { transport: 'nats', inFlight: 100, requestsPerSec: 9000, latencyUs: { p50, p99, ... } }
 */
export async function andonRequestReply(
  transport,
  { natsUrl, inFlight = 100, durationMs = 3000, bytes = 32 },
) {
  const server = await forkServer(SERVER, {
    ANDON_BENCH_NATS_URL: natsUrl,
    ANDON_BENCH_TRANSPORT: transport,
  });
  // The server's address is JSON naming its namespace and, over TCP, its discovery directory.
  const { ns, dir } = JSON.parse(server.address);
  let rt;
  try {
    rt = await Runtime.start(
      transport === 'nats'
        ? { transport: 'nats', discovery: 'nats', natsUrl }
        : { transport: 'tcp', discovery: 'file', discoveryDir: dir },
    );
    const client = await rt.namespace(ns).component('server').endpoint('echo').client();
    await client.waitForInstances();
    const payload = new Uint8Array(bytes);
    const measured = await measureInFlight(inFlight, durationMs, async () => {
      let n = 0;
      for await (const _item of await client.generate(payload)) n++;
      if (n !== 1) throw new Error(`echo answered ${n} items`);
    });
    return { transport, inFlight, payloadBytes: bytes, ...measured };
  } finally {
    await rt?.shutdown({ graceMs: 0 });
    await server.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
