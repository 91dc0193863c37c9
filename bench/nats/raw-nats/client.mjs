// Raw NATS baseline, client tier: runs the harness's trials. Each stream gets its own
// subject under one wildcard subscription; both routes go through nats-server.
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { now, onCommand, report, tierArgs } from '../../runtime/tier.mjs';

const { server, middle } = tierArgs();
const nc = await connect({ servers: process.env.ANDON_BENCH_NATS_URL, name: 'raw-nats-client' });
const cp = `bench.rawnats.client.${randomBytes(4).toString('hex')}`;
const handlers = new Map(); // stream subject → { data(), end() }
nc.subscribe(`${cp}.>`, {
  callback: (_err, msg) => {
    const handler = handlers.get(msg.subject);
    if (!handler) return;
    if (msg.data.length > 0) handler.data();
    else {
      handlers.delete(msg.subject);
      handler.end();
    }
  },
});
await nc.flush();
let nextId = 1;

function open(prefix, body, handler) {
  const subject = `${cp}.${nextId++}`;
  handlers.set(subject, handler);
  nc.publish(`${prefix}.req`, JSON.stringify(body), { reply: subject });
  return subject;
}

function cancelTrial(prefix, trial) {
  return new Promise((resolve) => {
    let received = 0;
    let tStop;
    const subject = open(
      prefix,
      { mode: 'cancel', trial },
      {
        data() {
          if (++received !== 3) return;
          tStop = now();
          nc.publish(`${prefix}.stop`, subject);
        },
        end() {
          resolve({ type: 'cancel-result', trial, tStop: String(tStop), received });
        },
      },
    );
  });
}

function throughput(prefix, trial, streams, itemsPerStream) {
  return new Promise((resolve) => {
    let items = 0;
    let left = streams;
    const start = now();
    const handler = {
      data() {
        items++;
      },
      end() {
        if (--left > 0) return;
        resolve({ type: 'throughput-result', trial, items, ns: String(now() - start) });
      },
    };
    for (let i = 0; i < streams; i++) {
      open(prefix, { mode: 'throughput', trial, items: itemsPerStream }, handler);
    }
  });
}

const routes = { direct: server, middle };
onCommand(async (command) => {
  const prefix = routes[command.route];
  if (!prefix) throw new Error(`no route ${command.route}`);
  if (command.type === 'cancel-trial') report(await cancelTrial(prefix, command.trial));
  else if (command.type === 'throughput') {
    report(await throughput(prefix, command.trial, command.streams, command.itemsPerStream));
  }
});

report({ type: 'ready' });
