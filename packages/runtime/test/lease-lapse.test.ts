import { TestClock } from '@andon/context';
import {
  Disconnected,
  type Discovery,
  type EndpointKey,
  type Instance,
  type InstanceChange,
  MemoryDiscovery,
  MemoryDiscoveryHub,
  type MemoryTransport,
  Runtime,
} from '@andon/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred } from '../../../test/support/wait.js';
import { drain } from './support/drain.js';

const HEARTBEAT_MS = 200;
const runtimes: Runtime[] = [];

afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown({ graceMs: 0, stopGraceMs: 0 })));
});

/** Memory discovery whose watchers can be told, on cue, that an instance's lease lapsed. */
class LapsingDiscovery implements Discovery {
  readonly #inner: MemoryDiscovery;
  readonly #listeners: Array<(change: InstanceChange) => void> = [];

  constructor(hub: MemoryDiscoveryHub) {
    this.#inner = new MemoryDiscovery({ hub });
  }

  register(instance: Instance) {
    return this.#inner.register(instance);
  }

  watch(key: EndpointKey, onChange: (change: InstanceChange) => void) {
    this.#listeners.push(onChange);
    return this.#inner.watch(key, onChange);
  }

  close() {
    return this.#inner.close();
  }

  lapse(instance: Instance): void {
    for (const onChange of this.#listeners) onChange({ type: 'removed', instance, why: 'expired' });
  }
}

async function network(clock?: TestClock) {
  const hub = new MemoryDiscoveryHub();
  const timing = { heartbeatMs: HEARTBEAT_MS, ...(clock ? { clock } : {}) };
  const server = await Runtime.start({
    transport: 'memory',
    discovery: new MemoryDiscovery({ hub }),
    ...timing,
  });
  const discovery = new LapsingDiscovery(hub);
  const caller = await Runtime.start({ transport: 'memory', discovery, ...timing });
  runtimes.push(server, caller);
  const endpoint = server.namespace('lapse').component('server');
  await endpoint.endpoint('ticks').serve(async function* (request: unknown) {
    for (let i = 0; i < (request as { n: number }).n; i++) {
      yield i;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  const silentStarted = deferred<void>();
  await endpoint.endpoint('silent').serve(() => {
    silentStarted.resolve();
    return new Promise(() => {});
  });
  const client = (name: string) =>
    caller.namespace('lapse').component('server').endpoint(name).client();
  return { server, discovery, client, silentStarted: silentStarted.promise };
}

describe('a lease that lapses while calls are in flight', () => {
  it('calls whose connection still brings frames go on: a late renewal is not a death', async () => {
    const { discovery, client } = await network();
    const ticks = await client('ticks');
    const [instance] = await ticks.waitForInstances();
    const stream = await ticks.generate({ n: 30 });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    discovery.lapse(instance!);
    const rest: unknown[] = [];
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      rest.push(next.value);
    }
    expect(rest).toEqual(Array.from({ length: 29 }, (_, i) => i + 1));
  });

  it('calls to an instance that is silent as well fail at once with Disconnected', async () => {
    const clock = new TestClock(Date.now());
    const { server, discovery, client, silentStarted } = await network(clock);
    const silent = await client('silent');
    const [instance] = await silent.waitForInstances();
    const stream = await silent.generate({});
    const outcome = drain(stream);
    await silentStarted;
    (server.transport as MemoryTransport).freeze();
    // Longer than a heartbeat interval, shorter than the missed heartbeats that would end
    // the connection on their own: only the lapse can end the call now.
    clock.advance(1.5 * HEARTBEAT_MS);
    discovery.lapse(instance!);
    // No time passes from here on: the call fails on the lapse itself.
    const { error } = await outcome;
    expect(error).toBeInstanceOf(Disconnected);
    expect((error as Error).message).toMatch(/stopped renewing its lease/);
    (server.transport as MemoryTransport).thaw();
  });
});
