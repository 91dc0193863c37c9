import { Context } from '@andon/context';
import {
  BackendError,
  Cancelled,
  DeadlineExceeded,
  Disconnected,
  NoInstances,
  type Runtime,
} from '@andon/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drain } from './drain.js';
import type { Network, Peer, PeerEvent, TransportFixture } from './peers.js';

const ns = 'conf';

const elapsedSince = (start: number) => performance.now() - start;

/**
 * The runtime's conformance suite. Every transport must pass it unchanged: the same
 * observable behaviour for stop, kill, deadlines, lost peers, routing and backpressure.
 */
export function defineConformance(fixture: TransportFixture): void {
  const skip = fixture.unavailable?.();
  describe.skipIf(skip !== undefined)(`runtime conformance over ${fixture.name}`, () => {
    let net: Network;
    let rt: Runtime;

    beforeEach(async () => {
      net = await fixture.network();
      rt = await net.runtime();
    });
    afterEach(async () => {
      await net.close();
    });

    async function clientFor(component: string, endpoint: string) {
      const client = await rt.namespace(ns).component(component).endpoint(endpoint).client();
      await client.waitForInstances({ timeoutMs: 10_000 });
      return client;
    }

    /**
     * No `generate` handler ever started on `server`. A marker call goes out after anything
     * the test sent (one connection, in order), so once its handler has reported that it
     * started, a `generate` request sent before it would have started first.
     */
    async function expectNeverStarted(server: Peer): Promise<void> {
      await drain(await (await clientFor('server', 'early')).generate({}));
      await server.waitFor((e) => e.type === 'started' && e.endpoint === 'early', 2000, 'marker');
      expect(server.events.filter((e) => e.type === 'started' && e.endpoint !== 'early')).toEqual(
        [],
      );
    }

    it('a client stop after 3 items reaches the server as a stop (kind stop) within 1 s, and nothing more is produced', async () => {
      const server = await net.startPeer('server', { intervalMs: 20 });
      const client = await clientFor('server', 'generate');
      const ctx = new Context();
      const stream = await client.generate({ count: 1000 }, { context: ctx });
      let stoppedAt = 0;
      const { items, error } = await drain(stream, (_item, n) => {
        if (n === 3) {
          stoppedAt = performance.now();
          ctx.stop('enough');
        }
      });
      expect(error).toBeUndefined();
      const stopped = await server.waitFor((e) => e.type === 'stopped', 5000, 'server stopped');
      expect(elapsedSince(stoppedAt)).toBeLessThan(1000);
      expect(stopped.kind).toBe('stop');
      expect(stopped.state).toBe('stopped');
      expect((stopped.reason as { message: string }).message).toBe('enough');
      const cancelled = await server.waitFor(
        (e) => e.type === 'cancelled',
        2000,
        'server cancelled',
      );
      expect(server.events.some((e) => e.type === 'killed')).toBe(false);
      // Items already sent stay valid; the producer made nothing after seeing the stop.
      const produced = server.events.filter((e) => e.type === 'produced').length;
      expect(produced).toBe(cancelled.iteration);
      expect(items.slice(0, 3)).toEqual([0, 1, 2]);
      expect(items.length).toBeLessThanOrEqual(produced);
    });

    it('the server sees its context stopped within 200 ms of the client stop', async () => {
      const server = await net.startPeer('server', { intervalMs: 1000 });
      const client = await clientFor('server', 'generate');
      const ctx = new Context();
      const stream = await client.generate({}, { context: ctx });
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      await server.waitFor((e) => e.type === 'produced', 2000);
      const start = performance.now();
      ctx.stop();
      await server.waitFor((e) => e.type === 'stopped', 5000, 'server stopped');
      // The handler is asleep for a whole second: only the wire can bring the stop this fast.
      expect(elapsedSince(start)).toBeLessThan(200);
      await iterator.return?.();
    });

    it('leaving the loop early kills the server side', async () => {
      const server = await net.startPeer('server');
      const client = await clientFor('server', 'generate');
      const stream = await client.generate({});
      for await (const item of stream) if (item === 2) break;
      const killed = await server.waitFor((e) => e.type === 'killed', 5000, 'server killed');
      expect(killed.kind).toBe('kill');
      expect(stream.context.isKilled()).toBe(true);
    });

    it('a kill ends the stream at the next read: items that arrived unread are dropped (a stop lets them through)', async () => {
      const server = await net.startPeer('server', { intervalMs: 5 });
      const client = await clientFor('server', 'generate');
      const ctx = new Context();
      const stream = await client.generate({ count: 1000 }, { context: ctx });
      const iterator = stream[Symbol.asyncIterator]();
      expect(await iterator.next()).toEqual({ done: false, value: 0 });
      // Not reading meanwhile: the items produced since are on their way or waiting unread.
      await server.waitFor(
        (e) => e.type === 'produced' && (e.iteration as number) >= 10,
        5000,
        'ten more items produced',
      );
      ctx.kill('nothing more');
      expect(await iterator.next()).toEqual({ done: true, value: undefined });
      const killed = await server.waitFor((e) => e.type === 'killed', 5000, 'server killed');
      expect(killed.kind).toBe('kill');
    });

    it('a context already stopped before the call gives an empty stream; the handler never runs', async () => {
      const server = await net.startPeer('server');
      const client = await clientFor('server', 'generate');
      const ctx = new Context();
      ctx.stop();
      const { items, error } = await drain(await client.generate({}, { context: ctx }));
      expect(items).toEqual([]);
      expect(error).toBeUndefined();
      await expectNeverStarted(server);
    });

    it('a context stopped between the call and the first read gives an empty stream; the handler never runs', async () => {
      const server = await net.startPeer('server');
      const client = await clientFor('server', 'generate');
      const ctx = new Context();
      const stream = await client.generate({}, { context: ctx });
      ctx.stop();
      const { items, error } = await drain(stream);
      expect(items).toEqual([]);
      expect(error).toBeUndefined();
      await expectNeverStarted(server);
    });

    it('a handler that throws gives the client a BackendError with its message and tier', async () => {
      await net.startPeer('server');
      const client = await clientFor('server', 'fail');
      const { items, error } = await drain(await client.generate({ message: 'engine on fire' }));
      expect(items).toEqual(['first']);
      expect(error).toBeInstanceOf(BackendError);
      expect((error as BackendError).message).toBe('engine on fire');
      expect((error as BackendError).tier).toMatch(/^conf\/server@/);
    });

    it('a handler that throws CancelledError gives the client Cancelled with the reason', async () => {
      await net.startPeer('server');
      const client = await clientFor('server', 'give-up');
      const { error } = await drain(await client.generate({}));
      expect(error).toBeInstanceOf(Cancelled);
      expect((error as Cancelled).reason.kind).toBe('condition');
    });

    it('a handler that returns early ends the stream normally', async () => {
      await net.startPeer('server');
      const client = await clientFor('server', 'early');
      const { items, error } = await drain(await client.generate({}));
      expect(items).toEqual([0, 1]);
      expect(error).toBeUndefined();
    });

    it('a single-response handler answers with one item', async () => {
      await net.startPeer('server');
      const client = await clientFor('server', 'echo');
      const { items } = await drain(await client.generate({ hello: 'world' }));
      expect(items).toEqual([{ echo: { hello: 'world' }, from: 'server' }]);
    });

    it('Uint8Array items and bodies cross without JSON', async () => {
      const server = await rt
        .namespace(ns)
        .component('bytes')
        .endpoint('reverse')
        .serve(async function* (request) {
          yield (request as Uint8Array).slice().reverse();
        });
      const client = await rt.namespace(ns).component('bytes').endpoint('reverse').client();
      await client.waitForInstances();
      const { items } = await drain(await client.generate(new Uint8Array([1, 2, 3])));
      expect(items[0]).toBeInstanceOf(Uint8Array);
      expect([...(items[0] as Uint8Array)]).toEqual([3, 2, 1]);
      await server.stop();
    });

    it('client → middle → server: a stop reaches the server through the middle as a stop', async () => {
      const server = await net.startPeer('server', { intervalMs: 20 });
      const middle = await net.startPeer('middle');
      const client = await clientFor('middle', 'generate');
      const ctx = new Context();
      const { error } = await drain(await client.generate({}, { context: ctx }), (_i, n) => {
        if (n === 3) ctx.stop('user pressed stop');
      });
      expect(error).toBeUndefined();
      const stopped = await server.waitFor((e) => e.type === 'stopped', 5000, 'server stopped');
      expect(stopped.kind).toBe('stop');
      expect((stopped.reason as { message: string }).message).toBe('user pressed stop');
      await middle.waitFor((e) => e.type === 'stopped', 2000, 'middle stopped');
      await server.waitFor((e) => e.type === 'cancelled', 2000);
      expect(server.events.some((e) => e.type === 'killed')).toBe(false);
    });

    it('client → middle → server: a kill arrives as a kill', async () => {
      const server = await net.startPeer('server', { intervalMs: 20 });
      await net.startPeer('middle');
      const client = await clientFor('middle', 'generate');
      const ctx = new Context();
      const stream = await client.generate({}, { context: ctx });
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      ctx.kill('hard stop');
      const killed = await server.waitFor((e) => e.type === 'killed', 5000, 'server killed');
      expect(killed.kind).toBe('kill');
      expect((await iterator.next()).done).toBe(true);
    });

    it('deadlines: a 300 ms budget stops the server with kind deadline; the client gets DeadlineExceeded; the middle never extends it', async () => {
      const server = await net.startPeer('server', { intervalMs: 20 });
      const middle = await net.startPeer('middle');
      const client = await clientFor('middle', 'generate');
      const start = performance.now();
      const { items, error } = await drain(await client.generate({}, { timeoutMs: 300 }));
      expect(error).toBeInstanceOf(DeadlineExceeded);
      expect(elapsedSince(start)).toBeLessThan(1500);
      expect(items.length).toBeGreaterThan(0);
      const stopped = await server.waitFor((e) => e.type === 'stopped', 5000, 'server stopped');
      expect(stopped.kind).toBe('deadline');
      const outgoing = await middle.waitFor((e) => e.type === 'outgoing', 2000);
      expect(outgoing.deadline).not.toBeNull();
      expect(outgoing.deadline as number).toBeLessThanOrEqual(outgoing.incoming as number);
      const started = await server.waitFor((e) => e.type === 'started', 100);
      expect(started.remainingMs as number).toBeLessThanOrEqual(300);
    });

    it('a server that dies mid-stream fails the client with Disconnected within 3 heartbeat intervals and half a second', async () => {
      const server = await net.startPeer('server', { intervalMs: 20 });
      const client = await clientFor('server', 'generate');
      const stream = await client.generate({});
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      const start = performance.now();
      const failure = (async () => {
        for (;;) await iterator.next();
      })().catch((error: unknown) => error);
      await server.crash();
      const error = await failure;
      expect(error).toBeInstanceOf(Disconnected);
      expect(elapsedSince(start)).toBeLessThan(3 * net.heartbeatMs + 500);
      expect(stream.context.isKilled()).toBe(true);
      expect(stream.context.reason?.kind).toBe('disconnect');
    });

    it('a caller that dies while the handler awaits forever gets the handler killed (kind disconnect)', async () => {
      const server = await net.startPeer('server');
      const caller = await net.startPeer('caller', { endpoint: 'hang' });
      await server.waitFor((e) => e.type === 'started' && e.endpoint === 'hang', 5000);
      const start = performance.now();
      await caller.crash();
      const killed = await server.waitFor(
        (e) => e.type === 'killed',
        3 * net.heartbeatMs + 2000,
        'handler killed',
      );
      expect(killed.kind).toBe('disconnect');
      expect(elapsedSince(start)).toBeLessThan(3 * net.heartbeatMs + 1000);
    });

    it('a middle that dies gets the server killed and the client failed', async () => {
      const server = await net.startPeer('server', { intervalMs: 20 });
      const middle = await net.startPeer('middle');
      const client = await clientFor('middle', 'generate');
      const stream = await client.generate({});
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      const failure = (async () => {
        for (;;) await iterator.next();
      })().catch((error: unknown) => error);
      await middle.crash();
      expect(await failure).toBeInstanceOf(Disconnected);
      const killed = await server.waitFor(
        (e) => e.type === 'killed',
        3 * net.heartbeatMs + 2000,
        'server killed',
      );
      expect(killed.kind).toBe('disconnect');
    });

    it('a frozen peer: missed heartbeats kill the streams; after it resumes, new calls work', async () => {
      const server = await net.startPeer('server', { intervalMs: 20 });
      const client = await clientFor('server', 'generate');
      const stream = await client.generate({});
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      const failure = (async () => {
        for (;;) await iterator.next();
      })().catch((error: unknown) => error);
      const start = performance.now();
      server.freeze();
      const error = await failure;
      expect(error).toBeInstanceOf(Disconnected);
      expect(elapsedSince(start)).toBeLessThan(5 * net.heartbeatMs + 2000);
      server.thaw();
      // The frozen side finds out too, once it runs again.
      const killed = await server.waitFor(
        (e) => e.type === 'killed',
        5000,
        'server killed after thaw',
      );
      expect(killed.kind).toBe('disconnect');
      await client.waitForInstances({ timeoutMs: 10_000 });
      const echo = await clientFor('server', 'echo');
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { items, error: again } = await drain(await echo.generate({ again: true }));
        if (!again) {
          expect(items).toEqual([{ echo: { again: true }, from: 'server' }]);
          break;
        }
        if (Date.now() > deadline) throw again;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    });

    it('routing: round-robin spreads, direct hits the named instance, NoInstances when none', async () => {
      const a = await net.startPeer('server', { name: 'a' });
      const b = await net.startPeer('server', { name: 'b' });
      const client = await rt.namespace(ns).component('server').endpoint('echo').client();
      await client.waitForInstances({ count: 2, timeoutMs: 10_000 });
      const seen = new Map<string, number>();
      for (let i = 0; i < 6; i++) {
        const { items } = await drain(await client.roundRobin(i));
        const from = (items[0] as { from: string }).from;
        seen.set(from, (seen.get(from) ?? 0) + 1);
      }
      expect(seen.get('a')).toBe(3);
      expect(seen.get('b')).toBe(3);
      for (let i = 0; i < 3; i++) {
        const { items } = await drain(await client.direct(i, b.instanceId));
        expect((items[0] as { from: string }).from).toBe('b');
      }
      const { items: randomItems } = await drain(await client.random('r'));
      expect(['a', 'b']).toContain((randomItems[0] as { from: string }).from);
      await expect(client.direct(1, 'no-such-instance')).rejects.toBeInstanceOf(NoInstances);
      const nobody = await rt.namespace(ns).component('nobody').endpoint('echo').client();
      await expect(nobody.generate(1)).rejects.toBeInstanceOf(NoInstances);
      await expect(nobody.waitForInstances({ timeoutMs: 100 })).rejects.toBeInstanceOf(NoInstances);
      expect(a.instanceId).not.toBe(b.instanceId);
    });

    it('backpressure: a slow consumer keeps the producer within the credit window', async () => {
      const server = await net.startPeer('server');
      const client = await clientFor('server', 'flood');
      const stream = await client.generate({});
      let consumed = 0;
      for await (const _item of stream) {
        consumed++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (consumed === 40) break;
      }
      await server.waitFor((e) => e.type === 'killed', 5000);
      const produced = Math.max(
        0,
        ...server.events
          .filter((e) => e.type === 'flood')
          .map((e: PeerEvent) => e.produced as number),
      );
      // The default window (128) plus one report granularity: never the 100 000 items a
      // flood would make.
      expect(produced).toBeLessThanOrEqual(consumed + 128 + 10);
    });
  });
}
