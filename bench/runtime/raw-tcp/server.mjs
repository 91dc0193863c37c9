// Raw TCP baseline, server tier: serves streams of 32-byte items on 127.0.0.1.
//   cancel stream:     an item every ~1 ms until the client's STOP arrives.
//   throughput stream: `items` items as fast as the socket takes them, then END.
import { createServer } from 'node:net';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { now, report } from '../tier.mjs';
import { DATA, END, FrameReader, FrameWriter, REQUEST, STOP } from './frames.mjs';

const PAYLOAD = Buffer.alloc(32, 7);
const BATCH = 1024;
const KEEP = 16;

const server = createServer({ noDelay: true }, (socket) => {
  socket.setNoDelay(true);
  const writer = new FrameWriter(socket);
  const streams = new Map();
  const reader = new FrameReader((type, stream, buf, start, end) => {
    if (type === STOP) {
      const tObs = now();
      const state = streams.get(stream);
      if (!state) return;
      streams.delete(stream);
      state.stopped = true;
      clearInterval(state.timer);
      writer.frame(END, stream);
      if (state.trial !== undefined) {
        report({
          type: 'observed',
          trial: state.trial,
          tObs: String(tObs),
          producedAt: state.producedAt.map(String),
        });
      }
    } else if (type === REQUEST) {
      const request = JSON.parse(buf.toString('utf8', start, end));
      const state = { trial: request.trial, stopped: false, timer: undefined, producedAt: [] };
      streams.set(stream, state);
      if (request.mode === 'cancel') startTicking(writer, stream, state);
      else void pump(writer, stream, state, request.items, streams);
    }
  });
  socket.on('data', (chunk) => reader.push(chunk));
  socket.on('error', () => {});
  socket.on('close', () => {
    for (const state of streams.values()) {
      state.stopped = true;
      clearInterval(state.timer);
    }
  });
});

function startTicking(writer, stream, state) {
  state.timer = setInterval(() => {
    state.producedAt.push(now());
    if (state.producedAt.length > KEEP) state.producedAt.shift();
    writer.frame(DATA, stream, PAYLOAD);
  }, 1);
}

async function pump(writer, stream, state, items, streams) {
  let sent = 0;
  while (sent < items && !state.stopped) {
    const n = Math.min(BATCH, items - sent);
    for (let i = 0; i < n; i++) writer.frame(DATA, stream, PAYLOAD);
    sent += n;
    writer.flush();
    if (writer.congested) await writer.drained();
    else await yieldToLoop();
  }
  streams.delete(stream);
  writer.frame(END, stream);
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  report({ type: 'ready', address: `127.0.0.1:${port}` });
});
