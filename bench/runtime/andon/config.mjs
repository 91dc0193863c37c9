// andon over TCP: the runtime's own protocol (credits, heartbeats, typed errors), file
// discovery, the middle tier forwarding with its incoming context.
export default {
  name: 'andon-tcp',
  description: 'andon runtime over TCP: client → middle (passes its context on) → server',
  scripts: {
    server: new URL('./server.mjs', import.meta.url),
    middle: new URL('./middle.mjs', import.meta.url),
    client: new URL('./client.mjs', import.meta.url),
  },
};
