// A child process holding many SSE watchers; driven over IPC by run.mjs.
//   { type: 'connect', url, count }  → { type: 'connected' } once each got its first event
//   { type: 'report' }               → { type: 'report', events, latencyUs: histogram, cancelledAtUs: [...] }
//   { type: 'close' }                → closes them all
import { nowUs, openSse } from './sse-client.mjs';

// Latency histogram: 10 µs buckets up to 2 s; the last bucket holds everything beyond.
const BUCKET_US = 10;
const BUCKETS = 200_000;
let histogram = new Uint32Array(BUCKETS);
let events = 0;
let cancelledAt = [];
let requests = [];

function onEvent(type, data) {
  events++;
  if (type === 'cancelled') {
    cancelledAt.push(nowUs());
    return;
  }
  if (type !== 'progress') return;
  const { sentAtUs } = JSON.parse(data);
  if (sentAtUs === undefined) return;
  const bucket = Math.min(BUCKETS - 1, Math.max(0, Math.floor((nowUs() - sentAtUs) / BUCKET_US)));
  histogram[bucket]++;
}

process.on('message', (message) => {
  if (message.type === 'connect') {
    histogram = new Uint32Array(BUCKETS);
    events = 0;
    cancelledAt = [];
    let first = 0;
    const firsts = new Set();
    for (let i = 0; i < message.count; i++) {
      const request = openSse(message.url, (type, data) => {
        if (!firsts.has(i)) {
          firsts.add(i);
          if (++first === message.count) process.send({ type: 'connected' });
          return;
        }
        onEvent(type, data);
      });
      requests.push(request);
    }
  } else if (message.type === 'report') {
    process.send({ type: 'report', events, histogram: [...histogram], cancelledAt });
  } else if (message.type === 'close') {
    for (const request of requests) request.destroy();
    requests = [];
    process.send({ type: 'closed' });
  } else if (message.type === 'exit') {
    process.exit(0);
  }
});
process.send({ type: 'ready' });
