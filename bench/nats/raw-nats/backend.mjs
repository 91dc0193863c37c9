// The backend tier of the raw NATS baseline: one process, talking to nats-server only.
// On `<p>.start` it publishes an item to `<p>.items` every ~1 ms; its `<p>.stop` handler
// takes tObs as its first line, stops producing and replies with tObs and the production
// times of its last items (so the client can count the items produced after its tStop).
// `<p>.echo` answers request/reply throughput runs. argv: <nats url> <subject prefix>.
import { connect } from '@nats-io/transport-node';

const [url, p] = process.argv.slice(2);
if (!url || !p) {
  console.error('usage: backend.mjs <nats url> <subject prefix>');
  process.exit(2);
}
const nc = await connect({ servers: url, name: 'raw-nats-backend' });
const RECENT = 32;
let producing;
let trial = '';
let seq = 0;
const times = [];

nc.subscribe(`${p}.stop`, {
  callback: (_err, msg) => {
    const tObs = process.hrtime.bigint();
    clearInterval(producing);
    producing = undefined;
    msg.respond(
      JSON.stringify({ trial: msg.string(), tObs: String(tObs), times: times.map(String) }),
    );
  },
});

nc.subscribe(`${p}.start`, {
  callback: (_err, msg) => {
    clearInterval(producing);
    trial = msg.string();
    seq = 0;
    times.length = 0;
    producing = setInterval(() => {
      times.push(process.hrtime.bigint());
      if (times.length > RECENT) times.shift();
      nc.publish(`${p}.items`, `${trial}:${seq++}`);
    }, 1);
    if (msg.reply) msg.respond('started');
  },
});

nc.subscribe(`${p}.echo`, { callback: (_err, msg) => msg.respond(msg.data) });
nc.subscribe(`${p}.ping`, { callback: (_err, msg) => msg.respond('pong') });

const quit = async () => {
  clearInterval(producing);
  await nc.drain().catch(() => {});
  process.exit(0);
};
process.once('SIGTERM', quit);
process.once('SIGINT', quit);
process.stdin.on('end', quit); // the parent went away
process.stdin.resume();
