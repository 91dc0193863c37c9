import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../src/runtime.js';
import { FrameType } from '../src/wire/frame.js';
import { RawPeer } from './support/raw-peer.js';

let dir: string;
let server: Runtime;
let address: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'andon-conn-cap-'));
  server = await Runtime.start({ transport: 'tcp', discoveryDir: dir, maxConnections: 3 });
  const served = await server
    .namespace('cap')
    .component('server')
    .endpoint('one')
    .serve(async function* () {
      yield 1;
    });
  address = served.instance.address;
});

afterAll(async () => {
  await server.shutdown({ graceMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

describe('maxConnections', () => {
  it('closes a connection past the bound at once, counts it, and takes one again when a slot frees', async () => {
    const held: RawPeer[] = [];
    for (let i = 0; i < 3; i++) {
      const peer = await RawPeer.connect(address);
      peer.hello();
      await peer.next((f) => f.type === FrameType.WELCOME);
      held.push(peer);
    }
    const extra = await RawPeer.connect(address);
    expect(await extra.closedWithin()).toBe(true);
    expect(server.stats().connectionsRefused).toBe(1);
    held.shift()!.destroy();
    // The server learns of the close asynchronously; a new connection is taken once it has.
    let welcomed = false;
    for (let attempt = 0; attempt < 50 && !welcomed; attempt++) {
      const peer = await RawPeer.connect(address);
      peer.hello();
      welcomed = (await peer.next((f) => f.type === FrameType.WELCOME)) !== 'closed';
      if (welcomed) held.push(peer);
    }
    expect(welcomed).toBe(true);
    for (const peer of held) peer.destroy();
  });
});
