// Raw TCP baseline, client tier: runs the harness's trials over one connection to the
// middle and one straight to the server.
import { connect } from 'node:net';
import { now, onCommand, report, tierArgs } from '../tier.mjs';
import { DATA, END, FrameReader, FrameWriter, parseAddress, REQUEST, STOP } from './frames.mjs';

const { server, middle } = tierArgs();

function open(address) {
  return new Promise((resolve, reject) => {
    const socket = connect({ ...parseAddress(address), noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      const writer = new FrameWriter(socket);
      const streams = new Map();
      const reader = new FrameReader((type, stream) => {
        const handler = streams.get(stream);
        if (!handler) return;
        if (type === DATA) handler.data();
        else if (type === END) {
          streams.delete(stream);
          handler.end();
        }
      });
      socket.on('data', (chunk) => reader.push(chunk));
      let nextId = 1;
      resolve({
        request(body, handler) {
          const id = nextId++;
          streams.set(id, handler);
          writer.frame(REQUEST, id, Buffer.from(JSON.stringify(body)));
          return id;
        },
        stop(id) {
          writer.frame(STOP, id);
        },
      });
    });
  });
}

const routes = { direct: await open(server) };
if (middle) routes.middle = await open(middle);

function cancelTrial(route, trial) {
  return new Promise((resolve) => {
    let received = 0;
    let tStop;
    const id = route.request(
      { mode: 'cancel', trial },
      {
        data() {
          received++;
          if (received !== 3) return;
          tStop = now();
          route.stop(id);
        },
        end() {
          resolve({ type: 'cancel-result', trial, tStop: String(tStop), received });
        },
      },
    );
  });
}

function throughput(route, trial, streams, itemsPerStream) {
  return new Promise((resolve) => {
    let items = 0;
    let open = streams;
    const start = now();
    const handler = {
      data() {
        items++;
      },
      end() {
        if (--open > 0) return;
        resolve({ type: 'throughput-result', trial, items, ns: String(now() - start) });
      },
    };
    for (let i = 0; i < streams; i++) {
      route.request({ mode: 'throughput', trial, items: itemsPerStream }, handler);
    }
  });
}

onCommand(async (command) => {
  const route = routes[command.route];
  if (!route) throw new Error(`no route ${command.route}`);
  if (command.type === 'cancel-trial') report(await cancelTrial(route, command.trial));
  else if (command.type === 'throughput') {
    report(await throughput(route, command.trial, command.streams, command.itemsPerStream));
  }
});

report({ type: 'ready' });
