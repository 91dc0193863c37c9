// What the andon tiers share. The harness's opaque "address" is JSON naming the namespace
// and, for TCP, the discovery directory, so one set of tier programs runs over either
// transport: ANDON_BENCH_TRANSPORT=nats (with ANDON_BENCH_NATS_URL) or tcp (default).
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '@andon/runtime';

const transport = () => process.env.ANDON_BENCH_TRANSPORT ?? 'tcp';

/** A fresh place for one configuration's tiers to find each other. */
export function newAddress() {
  const ns = `bench-${randomBytes(4).toString('hex')}`;
  if (transport() === 'nats') return JSON.stringify({ ns });
  return JSON.stringify({ ns, dir: mkdtempSync(join(tmpdir(), 'andon-bench-')) });
}

export function namespaceOf(address) {
  return JSON.parse(address).ns;
}

/** Starts a runtime at `address` with the runtime's defaults (the window may be overridden). */
export function startRuntime(address) {
  const window = process.env.ANDON_BENCH_WINDOW
    ? { window: Number(process.env.ANDON_BENCH_WINDOW) }
    : {};
  if (transport() === 'nats') {
    const natsUrl = process.env.ANDON_BENCH_NATS_URL;
    if (!natsUrl) throw new Error('ANDON_BENCH_NATS_URL is not set (run bench/nats/run.mjs)');
    return Runtime.start({ transport: 'nats', discovery: 'nats', natsUrl, ...window });
  }
  return Runtime.start({ transport: 'tcp', discoveryDir: JSON.parse(address).dir, ...window });
}
