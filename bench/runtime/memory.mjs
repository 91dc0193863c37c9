// Memory per in-flight stream: heap retained by N open streams (caller and responder side
// in one process over real TCP), after gc, divided by N. Prints JSON.
//
//   node --expose-gc bench/runtime/memory.mjs      (re-spawns itself with the flag if needed)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@andon/context';
import { Runtime } from '@andon/runtime';

if (typeof globalThis.gc !== 'function') {
  const child = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const STREAMS = Number(process.env.ANDON_BENCH_MEM_STREAMS ?? 2000);
const dir = mkdtempSync(join(tmpdir(), 'andon-mem-'));
const server = await Runtime.start({ transport: 'tcp', discoveryDir: dir });
const caller = await Runtime.start({ transport: 'tcp', discoveryDir: dir });
await server
  .namespace('mem')
  .component('server')
  .endpoint('open')
  .serve(async function* (_request, ctx) {
    yield 0;
    await ctx.stopped();
  });
const client = await caller.namespace('mem').component('server').endpoint('open').client();
await client.waitForInstances();

async function settle() {
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    globalThis.gc();
  }
  return process.memoryUsage().heapUsed;
}

// Warm the connection and the code paths first, so only per-stream state is counted.
const warm = new Context();
const iterator = (await client.generate({}, { context: warm }))[Symbol.asyncIterator]();
await iterator.next();
warm.stop();
await iterator.next();

const before = await settle();
const root = new Context();
const open = [];
for (let i = 0; i < STREAMS; i++) {
  const it = (await client.generate({}, { context: root }))[Symbol.asyncIterator]();
  await it.next();
  open.push(it);
}
const after = await settle();
root.stop();
await Promise.all(open.map((it) => it.next()));
open.length = 0;
root.dispose();
const released = await settle();

process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: 'runtime-memory',
      streams: STREAMS,
      bytesPerInFlightStream: Math.round((after - before) / STREAMS),
      note: 'both sides of each stream (caller and responder) live in this process',
      bytesLeftAfterAllEndedPerStream: Math.round((released - before) / STREAMS),
    },
    null,
    2,
  )}\n`,
);
await caller.shutdown({ graceMs: 0 });
await server.shutdown({ graceMs: 0 });
rmSync(dir, { recursive: true, force: true });
