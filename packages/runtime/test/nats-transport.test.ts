import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type { Context } from '@andon/context';
import {
  BackendError,
  Disconnected,
  ProtocolError,
  Runtime,
  type RuntimeOptions,
} from '@andon/runtime';
import { connect, type Subscription } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type NatsServer,
  natsServerBinary,
  startNatsServer,
  stopAllNatsServers,
} from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { decodeEnvelope, EnvelopeKind, encodeEnvelope } from '../src/nats/envelope.js';
import { NatsTransport } from '../src/nats/transport.js';
import type { ByteChannel } from '../src/transports/transport.js';
import { FrameDecoder } from '../src/wire/decoder.js';
import { FrameEncoder } from '../src/wire/encoder.js';
import { FrameType, PROTOCOL_VERSION } from '../src/wire/frame.js';
import { encodeRequest } from '../src/wire/payloads.js';
import { captureLogger } from './support/capture-logger.js';
import { drain } from './support/drain.js';
import { NatsNetwork } from './support/nats-network.js';
import { HEARTBEAT_MS } from './support/peers.js';

const bin = natsServerBinary();
const ns = 'conf';

afterAll(() => stopAllNatsServers());

/** Retries a one-item call until it succeeds (the server may still be coming back). */
async function callUntilAnswered(rt: Runtime, component: string, body: unknown, ms = 10_000) {
  const client = await rt.namespace(ns).component(component).endpoint('echo').client();
  let items: unknown[] = [];
  let failure: unknown;
  const answered = async () => {
    try {
      await client.waitForInstances({ timeoutMs: 1000 });
      const result = await drain(await client.generate(body));
      items = result.items;
      failure = result.error;
    } catch (error) {
      failure = error;
    }
    return failure === undefined;
  };
  try {
    await waitFor(answered, 'a call to be answered', { timeoutMs: ms, everyMs: 100 });
  } catch (timedOut) {
    throw failure ?? timedOut;
  } finally {
    client.close();
  }
  return items;
}

/** A Logger that keeps every line, to check what reaches the logs. */
describe.skipIf(!bin)('NATS transport', () => {
  let server: NatsServer;
  let net: NatsNetwork;
  let rt: Runtime;

  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterEach(async () => {
    await net?.close();
  });

  async function startNetwork(extra: RuntimeOptions = {}) {
    net = new NatsNetwork(server.url, extra);
    rt = await net.runtime();
  }

  it('two workers: round-robin alternates between them', async () => {
    await startNetwork();
    const a = await net.startPeer('server', { name: 'a' });
    const b = await net.startPeer('server', { name: 'b' });
    const client = await rt.namespace(ns).component('server').endpoint('echo').client();
    await client.waitForInstances({ count: 2, timeoutMs: 10_000 });
    const order: string[] = [];
    for (let i = 0; i < 8; i++) {
      const { items } = await drain(await client.roundRobin(i));
      order.push((items[0] as { from: string }).from);
    }
    expect(order.filter((from) => from === 'a')).toHaveLength(4);
    expect(order.filter((from) => from === 'b')).toHaveLength(4);
    // Strict alternation: no instance gets two in a row.
    for (let i = 1; i < order.length; i++) expect(order[i]).not.toBe(order[i - 1]);
    expect(new Set(client.instanceIds())).toEqual(new Set([a.instanceId, b.instanceId]));
  });

  it('a worker SIGKILLed: its in-flight calls fail with Disconnected at once, its lease expires, calls go to the survivor', async () => {
    await startNetwork();
    const doomed = await net.startPeer('server', { name: 'doomed' });
    await net.startPeer('server', { name: 'survivor' });
    const hang = await rt.namespace(ns).component('server').endpoint('hang').client();
    await hang.waitForInstances({ count: 2, timeoutMs: 10_000 });
    // One awaiting call on each worker; the handlers write nothing.
    const calls = await Promise.all([
      hang.direct({}, doomed.instanceId),
      hang.roundRobin({}),
      hang.roundRobin({}),
    ]);
    const outcomes = calls.map((stream) => drain(stream));
    await waitFor(
      () => doomed.events.some((e) => e.type === 'started' && e.endpoint === 'hang'),
      'the doomed worker runs a call',
      5000,
    );
    const t0 = performance.now();
    await doomed.crash();
    const first = await outcomes[0]!;
    const failedAfter = performance.now() - t0;
    expect(first.error).toBeInstanceOf(Disconnected);
    expect(calls[0]!.context.reason?.kind).toBe('disconnect');
    // Found by the next heartbeat's 503 (no responders), long before the lease lapses.
    expect(failedAfter).toBeLessThan(2 * HEARTBEAT_MS + 500);
    // The lease lapses within ~2 s (lease 1.5 s, swept every 250 ms).
    await waitFor(() => hang.instanceIds().length === 1, 'the lease expires', 4000);
    expect(hang.instanceIds()).not.toContain(doomed.instanceId);
    expect(performance.now() - t0).toBeLessThan(3000);
    // Calls on the survivor were not touched; new calls all go there.
    const echo = await rt.namespace(ns).component('server').endpoint('echo').client();
    await echo.waitForInstances();
    for (let i = 0; i < 3; i++) {
      const { items } = await drain(await echo.roundRobin(i));
      expect((items[0] as { from: string }).from).toBe('survivor');
    }
    for (const stream of calls.slice(1)) stream.context.kill();
    await Promise.all(outcomes);
  });

  it('a caller SIGKILLed while the handler awaits: the handler context is killed (kind disconnect) within about one heartbeat', async () => {
    await startNetwork();
    let handlerCtx: Context | undefined;
    const served = await rt
      .namespace(ns)
      .component('server')
      .endpoint('hang')
      .serve(async (_request, ctx) => {
        handlerCtx = ctx;
        await new Promise(() => {});
      });
    const caller = await net.startPeer('caller', { endpoint: 'hang' });
    await waitFor(() => handlerCtx !== undefined, 'the handler runs', 5000);
    const killed = new Promise<number>((resolve) =>
      handlerCtx!.onKill(() => resolve(performance.now())),
    );
    const t0 = performance.now();
    await caller.crash();
    const at = await killed;
    expect(handlerCtx!.reason?.kind).toBe('disconnect');
    // The responder's PING after one idle heartbeat finds no subscriber (503).
    expect(at - t0).toBeLessThan(1.5 * HEARTBEAT_MS + 400);
    await served.stop();
  });

  it('a raw NATS peer can speak the documented mapping; a gap in sequence numbers ends the connection', async () => {
    await startNetwork();
    const served = await rt
      .namespace(ns)
      .component('raw')
      .endpoint('echo')
      .serve(async (request) => ({ echo: request }));
    const address = served.instance.address;
    expect(address).toMatch(/^andon\.v1\.rt\.[0-9a-f]+$/);
    const nc = await connect({ servers: server.url });
    try {
      const inbox = 'test.raw.in.1';
      const frames: Array<{ type: number; stream: number; payload: Buffer }> = [];
      const closes: string[] = [];
      const decoder = new FrameDecoder(
        1 << 20,
        (type, _flags, stream, payload) =>
          frames.push({ type, stream, payload: Buffer.from(payload) }),
        () => {},
      );
      let expected = 0;
      // The responder answers with a connection subject of its own as the reply.
      const own = `andon.v1.rc.${address.split('.').pop()}.raw-1`;
      nc.subscribe(inbox, {
        callback: (_e, msg) => {
          const envelope = decodeEnvelope(msg.data);
          if (envelope.kind === EnvelopeKind.CLOSE)
            closes.push(Buffer.from(envelope.body).toString());
          else {
            expect(envelope.seq).toBe(expected++);
            expect(msg.reply).toBe(own);
            decoder.push(envelope.body);
          }
        },
      });
      let seq = 0;
      const send = (bytes: Uint8Array, at = seq++, subject = `${address}.raw-1`) =>
        nc.publish(subject, encodeEnvelope(EnvelopeKind.DATA, at, bytes), { reply: inbox });
      const encoder = new FrameEncoder();
      const hello = {
        magic: 'andon',
        version: PROTOCOL_VERSION,
        instance: 'raw',
        heartbeatMs: 5000,
        maxFrame: 1 << 20,
      };
      encoder.frame(FrameType.HELLO, 0, 0, JSON.stringify(hello));
      encoder.frame(
        FrameType.REQUEST,
        0,
        1,
        encodeRequest({ endpoint: 'conf/raw/echo', id: 'r1', credit: 8 }, JSON.stringify('hi')),
      );
      send(encoder.take());
      await waitFor(() => frames.some((f) => f.type === FrameType.END), 'END', 3000);
      expect(frames.map((f) => f.type)).toEqual([FrameType.WELCOME, FrameType.DATA, FrameType.END]);
      expect(JSON.parse(frames[1]!.payload.toString())).toEqual({ echo: 'hi' });
      // The connection goes on on the responder's own subject (a peer that kept using the
      // address subject would be served too).
      encoder.frame(
        FrameType.REQUEST,
        0,
        2,
        encodeRequest({ endpoint: 'conf/raw/echo', id: 'r2', credit: 8 }, JSON.stringify('ho')),
      );
      send(encoder.take(), seq++, own);
      await waitFor(
        () => frames.filter((f) => f.type === FrameType.END).length === 2,
        'END 2',
        3000,
      );
      expect(JSON.parse(frames[3]!.payload.toString())).toEqual({ echo: 'ho' });
      // Skip a sequence number: the responder must drop the connection and say so.
      encoder.frame(FrameType.PING, 0, 0, Buffer.alloc(8));
      send(encoder.take(), seq + 1, own);
      await waitFor(() => closes.length > 0, 'CLOSE', 3000);
      expect(closes[0]).toMatch(/lost/);
    } finally {
      await nc.close();
      await served.stop();
    }
  });

  it('each connection has a subscription of its own on both sides, released when it closes', async () => {
    const [a, b] = await Promise.all([
      connect({ servers: server.url }),
      connect({ servers: server.url }),
    ]);
    const responder = new NatsTransport({ connection: a });
    const caller = new NatsTransport({ connection: b });
    const ownSubscription = (channel: ByteChannel) =>
      (channel as unknown as { subscription: Subscription | undefined }).subscription;
    try {
      const served: ByteChannel[] = [];
      const address = await responder.listen((channel) => {
        served.push(channel);
        channel.start(
          () => {},
          () => {},
        );
      });
      const channel = await caller.connect(address);
      channel.start(
        () => {},
        () => {},
      );
      // The channel's headroom, then any bytes: they open the connection.
      channel.write(new Uint8Array((channel.headroom ?? 0) + 4));
      await waitFor(() => served.length === 1, 'the responder accepts the connection', 3000);
      const subscriptions = [ownSubscription(channel), ownSubscription(served[0]!)];
      for (const subscription of subscriptions) expect(subscription?.isClosed()).toBe(false);

      // A write without room for the envelope breaks the channel's contract: said, not sent.
      expect(() => channel.write(new Uint8Array(3))).toThrow(/no room for the 5-byte headroom/);

      channel.destroy(); // publishes CLOSE: the responder's side ends too
      await waitFor(
        () => subscriptions.every((subscription) => subscription?.isClosed()),
        'both connection subscriptions released',
        3000,
      );
    } finally {
      await Promise.all([responder.close(), caller.close()]);
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a channel writing after its NATS connection closed ends with Disconnected, saying so', async () => {
    const [a, b] = await Promise.all([
      connect({ servers: server.url }),
      connect({ servers: server.url }),
    ]);
    const responder = new NatsTransport({ connection: a, serverLabel: 'nats-under-test' });
    const caller = new NatsTransport({ connection: b, serverLabel: 'nats-under-test' });
    try {
      const address = await responder.listen((channel) =>
        channel.start(
          () => {},
          () => {},
        ),
      );
      const channel = await caller.connect(address);
      const closed = new Promise<Error | undefined>((resolve) => channel.start(() => {}, resolve));
      await b.close();
      channel.write(new Uint8Array((channel.headroom ?? 0) + 4));
      const error = await closed;
      expect(error?.name).toBe('Disconnected');
      expect(error?.message).toMatch(/closed/);
      expect(caller.publish('x.y', new Uint8Array(5), undefined)?.message).toBe(
        'the connection to nats-under-test is closed',
      );
    } finally {
      await Promise.all([responder.close(), caller.close()]);
      await a.close();
    }
  });

  it('runtimes see each other only under the same natsPrefix, which every subject carries', async () => {
    const started: Runtime[] = [];
    const start = async (natsPrefix?: string) => {
      const runtime = await Runtime.start({
        transport: 'nats',
        natsUrl: server.url,
        heartbeatMs: HEARTBEAT_MS,
        ...(natsPrefix === undefined ? {} : { natsPrefix }),
      });
      started.push(runtime);
      return runtime;
    };
    const watcher = await connect({ servers: server.url });
    const subjects: string[] = [];
    watcher.subscribe('>', {
      callback: (_e, msg) => {
        subjects.push(msg.subject);
      },
    });
    await watcher.flush();
    try {
      const blue = await start('tenant-blue');
      vi.stubEnv('ANDON_NATS_PREFIX', 'tenant-blue');
      const blueCaller = await start();
      vi.unstubAllEnvs();
      const green = await start('tenant.green');
      const unprefixed = await start();
      await blue
        .namespace(ns)
        .component('tenant')
        .endpoint('echo')
        .serve(async (r) => ({ blue: r }));
      const same = await blueCaller.namespace(ns).component('tenant').endpoint('echo').client();
      await same.waitForInstances({ timeoutMs: 5000 });
      expect((await drain(await same.generate(1))).items).toEqual([{ blue: 1 }]);
      for (const other of [green, unprefixed]) {
        const client = await other.namespace(ns).component('tenant').endpoint('echo').client();
        await expect(client.waitForInstances({ timeoutMs: 700 })).rejects.toThrow(
          /no instance of .*tenant.* appeared within 700 ms/,
        );
        client.close();
      }
      await watcher.flush();
      const blueSubjects = subjects.filter((s) => s.startsWith('tenant-blue.'));
      expect(blueSubjects.some((s) => s.startsWith('tenant-blue.discovery.'))).toBe(true);
      expect(blueSubjects.some((s) => s.startsWith('tenant-blue.v1.rt.'))).toBe(true);
      expect(
        subjects.filter((s) => !/^(tenant-blue|tenant\.green|andon|_INBOX)\./.test(s)),
      ).toEqual([]);
      await expect(start('tenant blue')).rejects.toThrow(
        /options\.natsPrefix must be dot-separated tokens/,
      );
      await expect(start('tenant.*')).rejects.toThrow(TypeError);
    } finally {
      vi.unstubAllEnvs();
      await watcher.close();
      await Promise.all(started.map((r) => r.shutdown({ graceMs: 0 })));
    }
  });

  it('after shutdown the runtime has closed its NATS connection', async () => {
    await startNetwork();
    await rt
      .namespace(ns)
      .component('x')
      .endpoint('echo')
      .serve(async (r) => r);
    const transport = rt.transport as unknown as { connection: { isClosed(): boolean } };
    expect(rt.transportName).toBe('nats');
    expect(transport.connection.isClosed()).toBe(false);
    await rt.shutdown({ graceMs: 0 });
    expect(transport.connection.isClosed()).toBe(true);
  });
});

describe.skipIf(!bin)('NATS transport: the server restarts', () => {
  let server: NatsServer;
  let net: NatsNetwork;

  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterEach(async () => {
    await net?.close();
  });

  it('nats-server killed mid-stream: the stream fails with Disconnected, the handler is killed, new calls work after the restart', async () => {
    net = new NatsNetwork(server.url);
    const rt = await net.runtime();
    const worker = await net.startPeer('server', { intervalMs: 20 });
    const client = await rt.namespace(ns).component('server').endpoint('generate').client();
    await client.waitForInstances({ timeoutMs: 10_000 });
    let received = 0;
    const stream = await client.generate({ count: 100_000 });
    const outcome = drain(stream, () => {
      received++;
    });
    await waitFor(() => received >= 3, 'items flow', 5000);
    const t0 = performance.now();
    await server.kill();
    const { error } = await outcome;
    // Never a clean end, never a hang.
    expect(error).toBeInstanceOf(Disconnected);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(stream.context.reason?.kind).toBe('disconnect');
    const killed = await worker.waitFor((e) => e.type === 'killed', 3000, 'handler killed');
    expect(killed.kind).toBe('disconnect');
    // While the server is away, a call fails at once rather than hang.
    const early = await client
      .generate({ count: 3 })
      .then((stream) => drain(stream))
      .catch((error: unknown) => ({ error }));
    expect(early.error).toBeInstanceOf(Disconnected);
    await server.restart();
    const items = await callUntilAnswered(rt, 'server', { back: true });
    expect(items).toEqual([{ echo: { back: true }, from: 'server' }]);
    // And streams flow again.
    const again = await drain(await client.generate({ count: 3 }));
    expect(again.error).toBeUndefined();
    expect(again.items).toEqual([0, 1, 2]);
  });
});

describe.skipIf(!bin)('NATS transport: max_payload 4096', () => {
  let server: NatsServer;
  let net: NatsNetwork;

  beforeAll(async () => {
    server = await startNatsServer({ maxPayload: 4096 });
  });
  afterEach(async () => {
    await net?.close();
  });

  it('an item too large for the server fails only its stream, naming both sizes', async () => {
    net = new NatsNetwork(server.url);
    const responder = await net.runtime();
    const caller = await net.runtime();
    await responder
      .namespace(ns)
      .component('big')
      .endpoint('make')
      .serve(async function* (request: unknown) {
        yield 'x'.repeat(Number(request));
      });
    const client = await caller.namespace(ns).component('big').endpoint('make').client();
    await client.waitForInstances();
    // Items near the limit cross; frames are never split across messages.
    const fits = await drain(await client.generate(4000));
    expect(fits.error).toBeUndefined();
    expect((fits.items[0] as string).length).toBe(4000);
    // Too large: only this stream fails, with both sizes in the message.
    const slow = await caller.namespace(ns).component('big').endpoint('make').client();
    const tooBig = await drain(await client.generate(5000));
    expect(tooBig.error).toBeInstanceOf(BackendError);
    expect((tooBig.error as Error).message).toMatch(/5002 bytes.*at most 4087 bytes/);
    // The connection is intact: the next call on it works.
    const after = await drain(await slow.generate(10));
    expect(after.items).toEqual(['x'.repeat(10)]);
    // A request body too large fails the call with ProtocolError naming both sizes.
    const request = await drain(await client.generate('y'.repeat(5000) as unknown as number));
    expect(request.error).toBeInstanceOf(ProtocolError);
    expect((request.error as Error).message).toMatch(
      /the request is \d+ bytes.*at most 4087 bytes/,
    );
    slow.close();
  });
});

describe.skipIf(!bin)('NATS transport: credentials', () => {
  const user = 'andon-user';
  const password = 'hunter2-s3cret-pw';
  let server: NatsServer;
  const runtimes: Runtime[] = [];

  beforeAll(async () => {
    server = await startNatsServer({ user, password });
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await Promise.all(runtimes.splice(0).map((r) => r.shutdown({ graceMs: 0 })));
  });

  it('user/password from options work, and never appear in errors, logs or warnings', async () => {
    const lines: string[] = [];
    const warnings: string[] = [];
    const onWarning = (w: Error) =>
      warnings.push(`${w.message} ${String((w as { detail?: unknown }).detail)}`);
    process.on('warning', onWarning);
    try {
      const options: RuntimeOptions = {
        transport: 'nats',
        natsUrl: server.url,
        natsUser: user,
        natsPassword: password,
        heartbeatMs: HEARTBEAT_MS,
        logger: captureLogger(lines),
      };
      const a = await Runtime.start(options);
      const b = await Runtime.start(options);
      runtimes.push(a, b);
      await a
        .namespace(ns)
        .component('secure')
        .endpoint('echo')
        .serve(async (r) => ({ echo: r }));
      const client = await b.namespace(ns).component('secure').endpoint('echo').client();
      await client.waitForInstances();
      expect((await drain(await client.generate(1))).items).toEqual([{ echo: 1 }]);
      // Wrong password: a clear Disconnected without the secret.
      const wrong = await Runtime.start({
        ...options,
        natsPassword: `${password}-wrong`,
      }).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(Disconnected);
      expect(String((wrong as Error).message)).toMatch(
        /cannot connect to NATS at nats:\/\/127\.0\.0\.1/,
      );
      expect(String((wrong as Error).message)).not.toContain(password);
      expect(JSON.stringify(wrong)).not.toContain(password);
      // Lose and regain the server so the runtimes log and warn about it.
      await server.kill();
      await waitFor(() => lines.some((l) => /lost the connection/.test(l)), 'a log line', 3000);
      await server.restart();
      expect(await callUntilAnswered(b, 'secure', 2)).toEqual([{ echo: 2 }]);
      expect(lines.length).toBeGreaterThan(0);
      for (const text of [...lines, ...warnings]) expect(text).not.toContain(password);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('credentials from NATS_USER / NATS_PASSWORD and the URL from ANDON_NATS_URL work', async () => {
    vi.stubEnv('ANDON_NATS_URL', server.url);
    vi.stubEnv('NATS_USER', user);
    vi.stubEnv('NATS_PASSWORD', password);
    const a = await Runtime.start({ transport: 'nats', heartbeatMs: HEARTBEAT_MS });
    const b = await Runtime.start({ transport: 'nats', heartbeatMs: HEARTBEAT_MS });
    runtimes.push(a, b);
    await a
      .namespace(ns)
      .component('env')
      .endpoint('echo')
      .serve(async (r) => ({ echo: r }));
    const client = await b.namespace(ns).component('env').endpoint('echo').client();
    await client.waitForInstances();
    expect((await drain(await client.generate('env'))).items).toEqual([{ echo: 'env' }]);
  });

  it('bad NATS options are TypeErrors naming the option, before anything connects', async () => {
    await expect(
      Runtime.start({ transport: 'nats', natsUrl: 'http://127.0.0.1:1' }),
    ).rejects.toThrow(TypeError);
    await expect(
      Runtime.start({ transport: 'nats', natsUrl: server.url, natsPassword: 'p' }),
    ).rejects.toThrow(/options\.natsPassword needs options\.natsUser/);
  });
});

describe('packaging', () => {
  it('the root entry never loads the NATS client; @andon/runtime/nats exports the classes', async () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@andon/runtime');
    // Follow static imports from the root entry: none may reach @nats-io.
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const [, spec] of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
        expect(spec, `${file} imports ${spec}`).not.toMatch(/^@nats-io\//);
        if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!));
      }
    };
    visit(entry);
    expect([...seen].some((f) => f.endsWith(join('dist', 'runtime.js')))).toBe(true);
    const nats = await import('@andon/runtime/nats');
    expect(typeof nats.NatsTransport).toBe('function');
    expect(typeof nats.NatsDiscovery.connect).toBe('function');
    expect(typeof nats.connectNats).toBe('function');
  });
});
