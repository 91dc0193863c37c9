// Raw NATS baseline, server tier (harness contract: ../../runtime/harness.mjs). Streams go
// through nats-server only; no andon code.
//   `<p>.req` (reply = the client's stream subject S): start a stream of 32-byte items on S.
//     cancel: one item every ~1 ms until stopped; throughput: `items` items, then END.
//   `<p>.stop` (payload S): the stop handler takes tObs first, stops S, sends END.
//   `<p>.echo`: request/reply echo for the 100-in-flight throughput run.
// END is an empty message: items are never empty, so it cannot be mistaken for one.
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { now, onCommand, report } from '../../runtime/tier.mjs';

const url = process.env.ANDON_BENCH_NATS_URL;
if (!url) {
  report({ type: 'error', message: 'ANDON_BENCH_NATS_URL is not set (run bench/nats/run.mjs)' });
  process.exit(1);
}
const PAYLOAD = new Uint8Array(32).fill(7);
const EMPTY = new Uint8Array(0);
const BATCH = 1024;
const KEEP = 16;
const p = `bench.rawnats.${randomBytes(4).toString('hex')}`;
const nc = await connect({ servers: url, name: 'raw-nats-server' });
const streams = new Map(); // stream subject → state

nc.subscribe(`${p}.stop`, {
  callback: (_err, msg) => {
    const tObs = now();
    const subject = msg.string();
    const state = streams.get(subject);
    if (!state) return;
    streams.delete(subject);
    state.stopped = true;
    clearInterval(state.timer);
    nc.publish(subject, EMPTY);
    report({
      type: 'observed',
      trial: state.trial,
      tObs: String(tObs),
      producedAt: state.producedAt.map(String),
    });
  },
});

nc.subscribe(`${p}.req`, {
  callback: (_err, msg) => {
    if (!msg.reply) return;
    const request = JSON.parse(msg.string());
    const state = { trial: request.trial, stopped: false, timer: undefined, producedAt: [] };
    streams.set(msg.reply, state);
    if (request.mode === 'cancel') tick(msg.reply, state);
    else void pump(msg.reply, state, request.items);
  },
});

nc.subscribe(`${p}.echo`, { callback: (_err, msg) => msg.respond(msg.data) });

function tick(subject, state) {
  state.timer = setInterval(() => {
    state.producedAt.push(now());
    if (state.producedAt.length > KEEP) state.producedAt.shift();
    nc.publish(subject, PAYLOAD);
  }, 1);
}

async function pump(subject, state, items) {
  let sent = 0;
  while (sent < items && !state.stopped) {
    const n = Math.min(BATCH, items - sent);
    for (let i = 0; i < n; i++) nc.publish(subject, PAYLOAD);
    sent += n;
    // Core NATS has no flow control; a round trip per batch keeps the buffer bounded.
    await nc.flush();
  }
  streams.delete(subject);
  nc.publish(subject, EMPTY);
}

onCommand(() => {});
await nc.flush();
report({ type: 'ready', address: p });
