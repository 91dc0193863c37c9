// The baseline: the same fan-out as a bare node:http SSE broadcaster, no store, no task
// machinery. Same IPC as andon-server.mjs; its one "task" is at /events, cancelled by
// POST /cancel (or the IPC message { type: 'cancel' }, answered with { type: 'cancel', t0Us }).
import http from 'node:http';
import { nowUs } from './sse-client.mjs';

const watchers = new Set();
const send = (text) => {
  for (const res of watchers) res.write(text);
};
const cancel = () => {
  send('event: cancelled\ndata: {"message":"cancelled"}\n\n');
  for (const watcher of watchers) watcher.end();
  watchers.clear();
};
const server = http.createServer((req, res) => {
  if (req.url === '/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('event: progress\ndata: {"started":true}\n\n');
    watchers.add(res);
    res.on('close', () => watchers.delete(res));
  } else if (req.url === '/cancel') {
    req.resume();
    cancel();
    res.end('{"cancelled":true}');
  } else {
    res.writeHead(404).end();
  }
});
server.listen(0, '127.0.0.1', () => {
  // run.mjs gone (killed by a signal, crashed): do not outlive it.
  process.on('disconnect', () => process.exit(1));
  process.send({ type: 'ready', url: `http://127.0.0.1:${server.address().port}` });
});
process.on('message', async (message) => {
  if (message.type === 'go') {
    const { rate, seconds } = message;
    const perBatch = Math.max(1, Math.round(rate / 100));
    const batches = Math.round((seconds * rate) / perBatch);
    const t0 = performance.now();
    let seq = 0;
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < perBatch; i++) {
        seq++;
        send(`id: ${seq}\nevent: progress\ndata: ${JSON.stringify({ sentAtUs: nowUs(), i })}\n\n`);
      }
      const due = t0 + ((b + 1) * 1000 * perBatch) / rate;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
  } else if (message.type === 'cancel') {
    const t0Us = nowUs();
    cancel();
    process.send({ type: 'cancel', t0Us });
  } else if (message.type === 'rss') {
    process.send({ type: 'rss', rss: process.memoryUsage().rss });
  } else if (message.type === 'exit') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
