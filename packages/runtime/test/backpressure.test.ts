import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { Runtime } from '../src/runtime.js';
import { FrameType } from '../src/wire/frame.js';
import { MAX_CREDIT } from '../src/wire/payloads.js';
import { errorOf, RawPeer } from './support/raw-peer.js';

const ITEMS = 5_000;
const ITEM = 'x'.repeat(10_000);

let dir: string;
let server: Runtime;
let address: string;
let produced = 0;
let finished = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'andon-backpressure-'));
  server = await Runtime.start({ transport: 'tcp', discoveryDir: dir });
  const served = await server
    .namespace('bp')
    .component('server')
    .endpoint('flood')
    .serve(async function* () {
      for (let i = 0; i < ITEMS; i++) {
        produced++;
        yield ITEM;
      }
      finished = true;
    });
  address = served.instance.address;
});

afterAll(async () => {
  await server.shutdown({ graceMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

describe('a caller that grants credit but does not read', () => {
  it('holds the producer back at the socket, and gets everything once it reads', async () => {
    const peer = await RawPeer.connect(address);
    // A long heartbeat, so that a peer busy not reading is not declared lost meanwhile.
    peer.hello({ heartbeatMs: 300_000 });
    await peer.next((f) => f.type === FrameType.WELCOME);
    peer.pause();
    peer.request(1, { endpoint: 'bp/server/flood', credit: MAX_CREDIT }, {});
    await waitFor(
      () => server.stats().congestions > 0,
      'the server to find the peer not reading',
      10_000,
    );
    const atCongestion = produced;
    // The handler runs in this process. Unheld, it makes items on promise callbacks and
    // coalesced writes, at least one every turn of the event loop: after 500 turns it would
    // be 500 items on, however slow the machine. Held at the socket, it makes none.
    for (let turn = 0; turn < 500; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(finished).toBe(false);
    expect(produced - atCongestion).toBeLessThan(50);
    expect(produced * ITEM.length).toBeLessThan(20 * 1024 * 1024);
    peer.resume();
    await peer.next((f) => f.type === FrameType.END && f.stream === 1, 20_000);
    expect(peer.frames.filter((f) => f.type === FrameType.DATA).length).toBe(ITEMS);
    expect(finished).toBe(true);
    peer.destroy();
  });

  it('may not ask for more than the credit bound', async () => {
    const peer = await RawPeer.connect(address);
    peer.hello();
    peer.request(1, { endpoint: 'bp/server/flood', credit: 2 ** 31 }, {});
    const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR && f.stream === 1));
    expect(error.message).toMatch(/credit must be an integer from 1 to 65536/);
    peer.destroy();
  });
});
