import net from 'node:net';
import {
  Disconnected,
  MemoryDiscovery,
  MemoryDiscoveryHub,
  ProtocolError,
  Runtime,
} from '@andon/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import { FrameDecoder } from '../src/wire/decoder.js';
import { FrameEncoder } from '../src/wire/encoder.js';
import { FrameType, PROTOCOL_VERSION } from '../src/wire/frame.js';
import { drain } from './support/drain.js';
import { RawPeer } from './support/raw-peer.js';

const SECRET = 'the-deployment-secret-4f1c';
const KEY = { namespace: 'auth', component: 'server', endpoint: 'echo' } as const;

const runtimes: Runtime[] = [];
const servers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown({ graceMs: 0 })));
  await Promise.all(
    servers
      .splice(0)
      .map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

async function start(hub: MemoryDiscoveryHub, token?: string): Promise<Runtime> {
  const rt = await Runtime.start({
    transport: 'tcp',
    discovery: new MemoryDiscovery({ hub }),
    heartbeatMs: 500,
    ...(token === undefined ? {} : { token }),
  });
  runtimes.push(rt);
  return rt;
}

async function serveEcho(rt: Runtime): Promise<string> {
  const served = await rt
    .namespace(KEY.namespace)
    .component(KEY.component)
    .endpoint(KEY.endpoint)
    .serve(async (request: unknown) => `echo:${String(request)}`);
  return served.instance.address;
}

async function echoClient(rt: Runtime) {
  const client = await rt
    .namespace(KEY.namespace)
    .component(KEY.component)
    .endpoint(KEY.endpoint)
    .client();
  await client.waitForInstances();
  return client;
}

/** How a call fails: when connecting (no handshake) or while streaming. */
async function failureOf(client: Awaited<ReturnType<typeof echoClient>>): Promise<unknown> {
  try {
    return (await drain(await client.generate('hi'))).error;
  } catch (error) {
    return error;
  }
}

/**
 * A responder that does not hold the secret: it records every byte it receives and answers
 * HELLO with a WELCOME carrying a made-up proof (or none), as a hijacker would.
 */
async function fakeResponder(proof: string | undefined) {
  const received: Buffer[] = [];
  const frames: number[] = [];
  const server = net.createServer((socket) => {
    const encoder = new FrameEncoder();
    const decoder = new FrameDecoder(
      1 << 20,
      (type) => {
        frames.push(type);
        if (type !== FrameType.HELLO) return;
        const welcome = {
          version: PROTOCOL_VERSION,
          instance: 'hijacker',
          heartbeatMs: 500,
          maxFrame: 1 << 20,
          ...(proof === undefined ? {} : { nonce: 'n'.repeat(43), proof }),
        };
        encoder.frame(FrameType.WELCOME, 0, 0, JSON.stringify(welcome));
        socket.write(encoder.take());
      },
      () => {},
    );
    socket.on('data', (chunk) => {
      received.push(chunk);
      decoder.push(chunk);
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { address: `127.0.0.1:${port}`, received, frames };
}

describe('the handshake with a shared secret', () => {
  it('serves callers that hold the same secret', async () => {
    const hub = new MemoryDiscoveryHub();
    await serveEcho(await start(hub, SECRET));
    const client = await echoClient(await start(hub, SECRET));
    expect((await drain(await client.generate('hi'))).items).toEqual(['echo:hi']);
  });

  it('never sends a request, or the secret, to an instance that cannot prove it holds the secret; the calls go to one that can', async () => {
    for (const proof of [undefined, 'forged-proof-0000000000000000000000000000000']) {
      const hub = new MemoryDiscoveryHub();
      const fake = await fakeResponder(proof);
      // The fake announces itself where callers look, as a planted lease would.
      const planted = await new MemoryDiscovery({ hub }).register({
        ...KEY,
        instanceId: 'hijacker',
        transport: 'tcp',
        address: fake.address,
      });
      await serveEcho(await start(hub, SECRET));
      const caller = await start(hub, SECRET);
      const client = await echoClient(caller);
      await waitFor(() => client.instances.length === 2, 'both instances discovered', 2000);
      for (let i = 0; i < 12; i++) {
        expect((await drain(await client.generate(`prompt-${i}`))).items).toEqual([
          `echo:prompt-${i}`,
        ]);
      }
      expect(fake.frames).toContain(FrameType.HELLO);
      expect(fake.frames).not.toContain(FrameType.REQUEST);
      expect(fake.frames).not.toContain(FrameType.AUTH);
      const bytes = Buffer.concat(fake.received).toString('latin1');
      expect(bytes).not.toContain(SECRET);
      expect(bytes).not.toContain('prompt-');
      await planted.revoke();
    }
  });

  it('fails a call to the only instance with a Disconnected that says it could not prove itself', async () => {
    const hub = new MemoryDiscoveryHub();
    await serveEcho(await start(hub, 'another-secret'));
    const client = await echoClient(await start(hub, SECRET));
    const error = await failureOf(client);
    expect(error).toBeInstanceOf(Disconnected);
    expect((error as Error).message).toMatch(/could not prove it holds the shared secret/);
    expect((error as Error).message).not.toContain(SECRET);
  });

  it('a caller with a secret refuses an instance that runs without one, and says so', async () => {
    const hub = new MemoryDiscoveryHub();
    await serveEcho(await start(hub));
    const client = await echoClient(await start(hub, SECRET));
    const error = await failureOf(client);
    expect(error).toBeInstanceOf(Disconnected);
    expect((error as Error).message).toMatch(
      /did not prove it holds the shared secret.*without one/,
    );
  });

  it('an instance with a secret refuses a caller without one, naming the problem', async () => {
    const hub = new MemoryDiscoveryHub();
    await serveEcho(await start(hub, SECRET));
    const client = await echoClient(await start(hub));
    const error = await failureOf(client);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/requires callers to hold the shared secret/);
  });
});

describe('the responder side of the handshake, against a raw peer', () => {
  async function securedAddress(): Promise<string> {
    return serveEcho(await start(new MemoryDiscoveryHub(), SECRET));
  }

  function lastError(peer: RawPeer): string {
    const error = peer.frames.find((f) => f.type === FrameType.ERROR);
    return error === undefined ? '' : JSON.parse(error.payload.toString()).message;
  }

  it('closes a connection that sends a REQUEST before answering the challenge', async () => {
    const peer = await RawPeer.connect(await securedAddress());
    peer.hello({ nonce: 'c'.repeat(43) });
    peer.request(1, { endpoint: 'auth/server/echo' }, 'hi');
    expect(await peer.closedWithin(2000)).toBe(true);
    expect(peer.frames.map((f) => f.type)).toContain(FrameType.WELCOME);
    expect(peer.frames.map((f) => f.type)).not.toContain(FrameType.DATA);
    expect(lastError(peer)).toMatch(/REQUEST before AUTH/);
  });

  it('closes a connection whose AUTH proof is wrong', async () => {
    const peer = await RawPeer.connect(await securedAddress());
    peer.hello({ nonce: 'c'.repeat(43) });
    await waitFor(() => peer.frames.length > 0, 'WELCOME', 2000);
    peer.frame(FrameType.AUTH, 0, JSON.stringify({ proof: 'p'.repeat(43) }));
    expect(await peer.closedWithin(2000)).toBe(true);
    expect(lastError(peer)).toMatch(/could not prove it holds the shared secret/);
  });

  it('closes a connection that offers no challenge to a responder with a secret', async () => {
    const peer = await RawPeer.connect(await securedAddress());
    peer.hello();
    expect(await peer.closedWithin(2000)).toBe(true);
    expect(lastError(peer)).toMatch(/requires callers to hold the shared secret/);
  });

  it('closes a connection that never answers the challenge', async () => {
    const peer = await RawPeer.connect(await securedAddress());
    peer.hello({ nonce: 'c'.repeat(43) });
    // Whichever comes first: missed heartbeats (this peer answers no PING) or the 5 s
    // handshake timeout.
    expect(await peer.closedWithin(9000)).toBe(true);
    expect(peer.frames.map((f) => f.type)).not.toContain(FrameType.DATA);
  }, 15_000);
});
