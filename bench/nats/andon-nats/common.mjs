// andon over NATS: the runtime's NATS transport and NATS discovery against the nats-server
// that bench/nats/run.mjs started (ANDON_BENCH_NATS_URL). The tiers share a fresh namespace,
// which travels as the harness's opaque "address", so runs never see each other.
import { randomBytes } from 'node:crypto';
import { Runtime } from '@andon/runtime';

export function newNamespace() {
  return `bench-${randomBytes(4).toString('hex')}`;
}

export function startRuntime() {
  const window = process.env.ANDON_BENCH_WINDOW
    ? { window: Number(process.env.ANDON_BENCH_WINDOW) }
    : {};
  // The request/response measure (../andon-request-reply.mjs) reuses the backend over TCP,
  // with file discovery in $ANDON_DISCOVERY_DIR, to compare the two transports.
  if (process.env.ANDON_BENCH_ANDON_TRANSPORT === 'tcp') {
    return Runtime.start({ transport: 'tcp', discovery: 'file', ...window });
  }
  const natsUrl = process.env.ANDON_BENCH_NATS_URL;
  if (!natsUrl) throw new Error('ANDON_BENCH_NATS_URL is not set (run bench/nats/run.mjs)');
  return Runtime.start({
    transport: 'nats',
    discovery: 'nats',
    natsUrl,
    ...window,
  });
}
