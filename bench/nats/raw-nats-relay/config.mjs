// Raw NATS with a relay process in the middle (see middle.mjs); server and client are
// raw-nats's. Its 'middle' route is the fair baseline for andon's 3-tier route over NATS;
// its 'direct' route is the same as raw-nats.
export default {
  name: 'raw-nats-relay',
  description: 'core NATS, a relay process as the middle (client → nats → relay → nats → server)',
  scripts: {
    server: new URL('../raw-nats/server.mjs', import.meta.url),
    middle: new URL('./middle.mjs', import.meta.url),
    client: new URL('../raw-nats/client.mjs', import.meta.url),
  },
};
