import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@andon/context';
import { type Client, ProtocolError, Runtime } from '@andon/runtime';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameType } from '../src/wire/frame.js';
import { errorOf, RawPeer } from './support/raw-peer.js';

// One server for the whole file: every bad peer must leave it serving everyone else.
let dir: string;
let server: Runtime;
let caller: Runtime;
let address: string;
let client: Client<{ count: number }, number>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'andon-bad-input-'));
  server = await Runtime.start({ transport: 'tcp', discoveryDir: dir, maxFrame: 64 * 1024 });
  caller = await Runtime.start({ transport: 'tcp', discoveryDir: dir });
  const served = await server
    .namespace('bad')
    .component('server')
    .endpoint('count')
    .serve(async function* (request: unknown, ctx) {
      const { count } = request as { count: number };
      for (let i = 0; i < count && !ctx.isStopped(); i++) {
        yield i;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    });
  address = served.instance.address;
  client = await caller
    .namespace('bad')
    .component('server')
    .endpoint<{ count: number }, number>('count')
    .client();
  await client.waitForInstances();
});

afterAll(async () => {
  await caller.shutdown({ graceMs: 0 });
  await server.shutdown({ graceMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

async function stillServes(): Promise<void> {
  const items: number[] = [];
  for await (const item of await client.generate({ count: 5 })) items.push(item);
  expect(items).toEqual([0, 1, 2, 3, 4]);
}

describe('bad input closes only the offending stream or connection', () => {
  it('a frame longer than the limit: connection ERROR naming the limit, then close', async () => {
    const peer = await RawPeer.connect(address);
    peer.hello();
    const header = Buffer.alloc(10);
    header.writeUInt32BE(10 * 1024 * 1024, 0);
    peer.bytes(header);
    const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR && f.stream === 0));
    expect(error.code).toBe('ANDON_PROTOCOL_ERROR');
    expect(error.message).toMatch(/exceeds the limit of 65536 bytes/);
    expect(await peer.closedWithin()).toBe(true);
    await stillServes();
  });

  it('a frame length below the header size is refused', async () => {
    const peer = await RawPeer.connect(address);
    peer.bytes(Buffer.from([0, 0, 0, 2, 1, 0]));
    const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR));
    expect(error.message).toMatch(/below the minimum/);
    expect(await peer.closedWithin()).toBe(true);
  });

  it('an unknown frame type is refused with its number', async () => {
    const peer = await RawPeer.connect(address);
    peer.hello();
    peer.frame(0x7f, 0, 'x');
    const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR));
    expect(error.message).toMatch(/unknown frame type 0x7f/);
    expect(await peer.closedWithin()).toBe(true);
  });

  it('a stream frame before HELLO is refused', async () => {
    const peer = await RawPeer.connect(address);
    peer.request(1, { endpoint: 'bad/server/count' }, { count: 1 });
    const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR));
    expect(error.message).toMatch(/before HELLO/);
    expect(await peer.closedWithin()).toBe(true);
  });

  it.each([
    [{ magic: 'nope' }, /bad magic/],
    [{ version: 99 }, /unsupported protocol version 99/],
    [{ heartbeatMs: -1 }, /heartbeatMs must be a number of milliseconds above 0/],
  ])('a bad handshake %j is refused, naming what was wrong', async (fields, message) => {
    const peer = await RawPeer.connect(address);
    peer.hello(fields);
    const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR));
    expect(error.message).toMatch(message);
    expect(await peer.closedWithin()).toBe(true);
  });

  it('a HELLO asking for a heartbeat beyond 5 minutes is refused, so liveness cannot be switched off', async () => {
    for (const heartbeatMs of [8e9, 1e10, 300_001]) {
      const peer = await RawPeer.connect(address);
      peer.hello({ heartbeatMs });
      const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR));
      expect(error.message).toMatch(/HELLO\.heartbeatMs must be .* at most 300000/);
      expect(await peer.closedWithin()).toBe(true);
    }
    await stillServes();
  });

  it('a HELLO that is not JSON is refused', async () => {
    const peer = await RawPeer.connect(address);
    peer.frame(FrameType.HELLO, 0, '{not json');
    expect(errorOf(await peer.next((f) => f.type === FrameType.ERROR)).message).toMatch(
      /not valid JSON/,
    );
  });

  it('a malformed REQUEST fails only its stream; the connection serves the next one', async () => {
    const peer = await RawPeer.connect(address);
    peer.hello();
    peer.frame(FrameType.REQUEST, 1, Buffer.from([0, 0, 0, 3, 0x7b, 0x7b, 0x7b]));
    const bad = errorOf(await peer.next((f) => f.type === FrameType.ERROR && f.stream === 1));
    expect(bad.code).toBe('ANDON_PROTOCOL_ERROR');
    expect(bad.message).toMatch(/REQUEST header is not valid JSON/);
    peer.request(3, { endpoint: 'bad/server/count' }, { count: 2 });
    const end = await peer.next((f) => f.type === FrameType.END && f.stream === 3);
    expect(end).not.toBe('closed');
    const items = peer.frames
      .filter((f) => f.type === FrameType.DATA && f.stream === 3)
      .map((f) => f.payload.toString());
    expect(items).toEqual(['0', '1']);
    peer.destroy();
  });

  it('a REQUEST body that is not valid JSON fails its stream with a ProtocolError', async () => {
    const peer = await RawPeer.connect(address);
    peer.hello();
    const head = Buffer.from(JSON.stringify({ endpoint: 'bad/server/count', id: 'x', credit: 4 }));
    const payload = Buffer.concat([
      Buffer.from([0, 0, 0, head.length]),
      head,
      Buffer.from('{oops'),
    ]);
    peer.frame(FrameType.REQUEST, 1, payload);
    const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR && f.stream === 1));
    expect(error.message).toMatch(/REQUEST body is not valid JSON/);
    peer.destroy();
  });

  it('a REQUEST for an endpoint this instance does not serve gets NO_INSTANCES', async () => {
    const peer = await RawPeer.connect(address);
    peer.hello();
    peer.request(1, { endpoint: 'bad/server/nothing' }, {});
    const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR && f.stream === 1));
    expect(error.code).toBe('ANDON_NO_INSTANCES');
    peer.destroy();
  });

  it('a REQUEST reusing a stream number is refused on that stream', async () => {
    const peer = await RawPeer.connect(address);
    peer.hello();
    peer.request(5, { endpoint: 'bad/server/count' }, { count: 1 });
    peer.request(5, { endpoint: 'bad/server/count' }, { count: 1 });
    const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR && f.stream === 5));
    expect(error.message).toMatch(/reuses stream number 5/);
    peer.destroy();
  });

  it.each([
    ['shorter than a reason', Buffer.from('garbage'), /STOP reason is 7 bytes/],
    [
      'an unknown kind',
      Buffer.from([99, ...new Array(10).fill(0)]),
      /STOP reason has unknown kind 99/,
    ],
    ['an origin past the end', Buffer.from([0, ...new Array(8).fill(0), 0xff, 0xff]), /overruns/],
  ])('STOP with a reason %s fails that stream only', async (_what, payload, message) => {
    const peer = await RawPeer.connect(address);
    peer.hello();
    peer.request(1, { endpoint: 'bad/server/count' }, { count: 1000 });
    peer.request(2, { endpoint: 'bad/server/count' }, { count: 1000 });
    await peer.next((f) => f.type === FrameType.DATA && f.stream === 1);
    peer.frame(FrameType.STOP, 1, payload);
    const error = errorOf(await peer.next((f) => f.type === FrameType.ERROR && f.stream === 1));
    expect(error.code).toBe('ANDON_PROTOCOL_ERROR');
    expect(error.message).toMatch(message);
    // The other stream on the same connection carries on.
    peer.frame(FrameType.CREDIT, 2, Buffer.from([0, 0, 1, 0]));
    const seen = peer.frames.filter((f) => f.stream === 2).length;
    await peer.next(
      (f) => f.stream === 2 && peer.frames.filter((g) => g.stream === 2).length > seen + 2,
    );
    peer.destroy();
  });

  it('protocol errors are counted', async () => {
    const before = server.stats().protocolErrors;
    const peer = await RawPeer.connect(address);
    peer.bytes(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await peer.closedWithin();
    expect(server.stats().protocolErrors).toBe(before + 1);
  });

  it('fuzz: random frames after a valid handshake never take the process down', async () => {
    const frame = fc.record({
      type: fc.integer({ min: 0, max: 15 }),
      flags: fc.integer({ min: 0, max: 3 }),
      stream: fc.integer({ min: 0, max: 4 }),
      payload: fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.json().map((json) => new TextEncoder().encode(json)),
      ),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(frame, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        async (frames, handshake) => {
          const peer = await RawPeer.connect(address);
          if (handshake) peer.hello();
          for (const f of frames) peer.frame(f.type, f.stream, f.payload, f.flags);
          // A peer that hangs up a moment later: the property holds whether the server
          // answers first or finds the socket gone, and nothing is asserted per run.
          await new Promise((resolve) => setTimeout(resolve, 5));
          peer.destroy();
        },
      ),
      { numRuns: 150 },
    );
    await stillServes();
  });

  it('fuzz: random bytes never take the process down', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 256 }), async (bytes) => {
        const peer = await RawPeer.connect(address);
        peer.bytes(bytes);
        // As above: a peer that hangs up a moment later; nothing is asserted per run.
        await new Promise((resolve) => setTimeout(resolve, 2));
        peer.destroy();
      }),
      { numRuns: 150 },
    );
    await stillServes();
  });
});

describe('limits a caller can hit', () => {
  it('an item larger than the frame limit fails that stream with a clear error; the connection lives on', async () => {
    const small = await Runtime.start({ transport: 'tcp', discoveryDir: dir, maxFrame: 1024 });
    const rt = await Runtime.start({ transport: 'tcp', discoveryDir: dir, maxFrame: 1024 });
    try {
      await rt
        .namespace('big')
        .component('server')
        .endpoint('blob')
        .serve(async function* (request: unknown) {
          yield 'x'.repeat(request as number);
        });
      const big = await small.namespace('big').component('server').endpoint('blob').client();
      await big.waitForInstances();
      const failing = (async () => {
        for await (const _ of await big.generate(5000));
      })();
      await expect(failing).rejects.toThrow(
        /item of 5002 bytes; the caller accepts frames of at most 1024 bytes/,
      );
      const items: unknown[] = [];
      for await (const item of await big.generate(10)) items.push(item);
      expect(items).toEqual(['x'.repeat(10)]);
      const hugeRequest = (async () => {
        for await (const _ of await big.generate('y'.repeat(5000) as never));
      })();
      await expect(hugeRequest).rejects.toBeInstanceOf(ProtocolError);
    } finally {
      await small.shutdown({ graceMs: 0 });
      await rt.shutdown({ graceMs: 0 });
    }
  });

  it('an item that is not JSON fails the stream with a BackendError that says so', async () => {
    const rt = await Runtime.start({ transport: 'tcp', discoveryDir: dir });
    try {
      await rt
        .namespace('json')
        .component('server')
        .endpoint('bigint')
        .serve(async function* () {
          yield 10n as unknown;
        });
      const c = await caller.namespace('json').component('server').endpoint('bigint').client();
      await c.waitForInstances();
      const run = (async () => {
        for await (const _ of await c.generate({}, { context: new Context() }));
      })();
      await expect(run).rejects.toThrow(/cannot be sent as JSON/);
    } finally {
      await rt.shutdown({ graceMs: 0 });
    }
  });
});
