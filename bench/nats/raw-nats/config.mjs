// The raw NATS baseline: nats-server is the middle tier, no andon code anywhere. Its tiers
// read the server's URL from ANDON_BENCH_NATS_URL, which bench/nats/run.mjs sets after
// starting a nats-server. Both routes ('direct' and 'middle') go through nats-server.
export default {
  name: 'raw-nats',
  description: 'core NATS publish/subscribe, nats-server as the middle, stop on a control subject',
  scripts: {
    server: new URL('./server.mjs', import.meta.url),
    middle: new URL('./middle.mjs', import.meta.url),
    client: new URL('./client.mjs', import.meta.url),
  },
};
