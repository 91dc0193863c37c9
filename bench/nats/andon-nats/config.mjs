// andon over NATS: the runtime's own protocol (credits, heartbeats, typed errors) in NATS
// messages, NATS discovery, the middle tier forwarding with its incoming context. The same
// tier programs as bench/runtime/andon (andon over TCP), on the other transport.
export default {
  name: 'andon-nats',
  description:
    'andon runtime over NATS: client → nats → middle (passes its context on) → nats → server',
  scripts: {
    server: new URL('./server.mjs', import.meta.url),
    middle: new URL('./middle.mjs', import.meta.url),
    client: new URL('./client.mjs', import.meta.url),
  },
};
