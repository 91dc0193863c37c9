// A child process holding many SSE watchers; driven over IPC by run.mjs.
//   { type: 'connect', url, count }  → { type: 'connected' } once each got its first event
//                                      (that first event is not counted)
//                                    → { type: 'cancelled', lastAtUs } as soon as all `count`
//                                      got their `cancelled` event (pushed, not polled: a
//                                      poll would keep this process busy while it should be
//                                      reading)
//   { type: 'report', percentiles }  → { type: 'report', events, lastAtUs, lagged, p50Us?, p99Us? }
//                                      (percentiles cost a pass over the histogram: only
//                                      for the final report, not for every progress poll)
//   { type: 'close' }                → closes them all → { type: 'closed' }
import { nowUs, openSse, sentAtUsOf } from './sse-client.mjs';

// Latency histogram: 10 µs buckets up to 10 s; the last bucket holds everything beyond.
// Percentiles are read here, so a report is a few numbers over IPC, not the histogram.
const BUCKET_US = 10;
const BUCKETS = 1_000_000;
const histogram = new Uint32Array(BUCKETS);
let events = 0;
let lastAtUs = 0;
let expected = 0;
let cancelled = 0;
let lagged = 0;
let requests = [];

// Counts only the stamped events, the ones both servers send alike (andon's terminal
// `complete` is not one of them).
function onEvent(type, data) {
  const at = nowUs();
  if (type === 'cancelled') {
    if (++cancelled === expected) process.send({ type: 'cancelled', lastAtUs: at });
    return;
  }
  // andon drops a watcher that falls more than watchBufferSize events behind: it gets
  // `lagged` and its stream ends, so it receives nothing more (the raw baseline just buffers).
  if (type === 'lagged') {
    lagged++;
    return;
  }
  if (type !== 'progress') return;
  const sentAtUs = sentAtUsOf(data);
  if (Number.isNaN(sentAtUs)) return;
  events++;
  lastAtUs = at;
  histogram[Math.min(BUCKETS - 1, Math.max(0, Math.floor((at - sentAtUs) / BUCKET_US)))]++;
}

// Upper bound of the bucket holding the p-th percentile, in µs.
function percentileUs(p) {
  let total = 0;
  for (let i = 0; i < BUCKETS; i++) total += histogram[i];
  if (total === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += histogram[i];
    if (seen >= rank) return (i + 1) * BUCKET_US;
  }
  return Number.NaN;
}

process.on('message', (message) => {
  if (message.type === 'connect') {
    histogram.fill(0);
    events = 0;
    lastAtUs = 0;
    cancelled = 0;
    lagged = 0;
    expected = message.count;
    let first = 0;
    for (let i = 0; i < message.count; i++) {
      let greeted = false;
      const request = openSse(message.url, (type, data) => {
        if (!greeted) {
          greeted = true;
          if (++first === message.count) process.send({ type: 'connected' });
          return;
        }
        onEvent(type, data);
      });
      requests.push(request);
    }
  } else if (message.type === 'report') {
    process.send({
      type: 'report',
      events,
      lastAtUs,
      lagged,
      ...(message.percentiles ? { p50Us: percentileUs(50), p99Us: percentileUs(99) } : {}),
    });
  } else if (message.type === 'close') {
    for (const request of requests) request.destroy();
    requests = [];
    process.send({ type: 'closed' });
  } else if (message.type === 'exit') {
    process.exit(0);
  }
});
// run.mjs gone (killed by a signal, crashed): do not outlive it.
process.on('disconnect', () => process.exit(1));
process.send({ type: 'ready' });
