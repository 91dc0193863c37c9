// The floor every other configuration is compared against: length-prefixed frames over
// plain TCP, a middle that parses and re-frames, one process per tier.
export default {
  name: 'raw-tcp',
  description: 'length-prefixed frames over TCP, frame-aware middle, write coalescing',
  scripts: {
    server: new URL('./server.mjs', import.meta.url),
    middle: new URL('./middle.mjs', import.meta.url),
    client: new URL('./client.mjs', import.meta.url),
  },
};
