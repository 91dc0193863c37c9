// Raw TCP baseline, middle tier: parses every frame and re-frames it. Client streams map
// onto streams of one shared upstream connection (one connection per pair of peers);
// requests and stops go up, items and ends come down.
import { connect, createServer } from 'node:net';
import { report, tierArgs } from '../tier.mjs';
import { DATA, END, FrameReader, FrameWriter, parseAddress, REQUEST, STOP } from './frames.mjs';

const { server: serverAddress } = tierArgs();
const upstream = connect({ ...parseAddress(serverAddress), noDelay: true });
upstream.on('error', (error) => {
  report({ type: 'error', message: `middle lost the server: ${error.message}` });
  process.exit(1);
});
const up = new FrameWriter(upstream);
const routes = new Map(); // upstream stream id → { writer, socket, stream }
let nextId = 1;
const waitingForDrain = new Set();

const fromUp = new FrameReader((type, stream, buf, start, end) => {
  const route = routes.get(stream);
  if (!route) return;
  if (type === DATA) route.writer.frame(DATA, route.stream, buf.subarray(start, end));
  else if (type === END) {
    routes.delete(stream);
    route.byClient.delete(route.stream);
    route.writer.frame(END, route.stream);
  }
});
const clients = new Set(); // { writer, socket } per client connection
upstream.on('data', (chunk) => {
  fromUp.push(chunk);
  // Hold the server back while any client cannot keep up: TCP backpressure end to end.
  for (const client of clients) {
    client.writer.flush();
    if (!client.writer.congested || waitingForDrain.has(client.socket)) continue;
    waitingForDrain.add(client.socket);
    upstream.pause();
    client.socket.once('drain', () => {
      waitingForDrain.delete(client.socket);
      if (waitingForDrain.size === 0) upstream.resume();
    });
  }
});

const server = createServer({ noDelay: true }, (socket) => {
  const writer = new FrameWriter(socket);
  const byClient = new Map(); // client stream id → upstream stream id
  const client = { writer, socket };
  clients.add(client);
  const reader = new FrameReader((type, stream, buf, start, end) => {
    if (type === REQUEST) {
      const id = nextId++;
      byClient.set(stream, id);
      routes.set(id, { writer, stream, byClient });
      up.frame(REQUEST, id, buf.subarray(start, end));
    } else if (type === STOP) {
      const id = byClient.get(stream);
      if (id !== undefined) up.frame(STOP, id);
    }
  });
  socket.on('data', (chunk) => reader.push(chunk));
  socket.on('error', () => {});
  socket.on('close', () => {
    clients.delete(client);
    if (waitingForDrain.delete(socket) && waitingForDrain.size === 0) upstream.resume();
    for (const id of byClient.values()) {
      routes.delete(id);
      up.frame(STOP, id);
    }
  });
});

upstream.once('connect', () => {
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    report({ type: 'ready', address: `127.0.0.1:${port}` });
  });
});
