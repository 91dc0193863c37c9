// Raw NATS with a relay process as the middle tier: client → nats-server → relay →
// nats-server → server. The like-for-like comparison for andon's 3-tier route over NATS,
// whose middle is a process of its own. The relay maps each client stream subject to an
// upstream one and forwards items, END and stop, nothing else.
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { onCommand, report, tierArgs } from '../../runtime/tier.mjs';

const server = tierArgs().server;
const nc = await connect({ servers: process.env.ANDON_BENCH_NATS_URL, name: 'raw-nats-relay' });
const p = `bench.rawnats.relay.${randomBytes(4).toString('hex')}`;
const down = new Map(); // upstream subject → client stream subject
const up = new Map(); // client stream subject → upstream subject
let next = 1;

nc.subscribe(`${p}.req`, {
  callback: (_err, msg) => {
    if (!msg.reply) return;
    const upstream = `${p}.up.${next++}`;
    down.set(upstream, msg.reply);
    up.set(msg.reply, upstream);
    nc.publish(`${server}.req`, msg.data, { reply: upstream });
  },
});

nc.subscribe(`${p}.up.>`, {
  callback: (_err, msg) => {
    const client = down.get(msg.subject);
    if (!client) return;
    nc.publish(client, msg.data);
    if (msg.data.length === 0) {
      down.delete(msg.subject);
      up.delete(client);
    }
  },
});

nc.subscribe(`${p}.stop`, {
  callback: (_err, msg) => {
    const upstream = up.get(msg.string());
    if (upstream) nc.publish(`${server}.stop`, upstream);
  },
});

onCommand(() => {});
await nc.flush();
report({ type: 'ready', address: p });
