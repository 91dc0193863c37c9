import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../src/client.js';
import { MemoryDiscovery, MemoryDiscoveryHub } from '../src/discovery/memory.js';
import { Disconnected } from '../src/errors.js';
import { Runtime } from '../src/runtime.js';

const KEY = { namespace: 'retry', component: 'server', endpoint: 'count' } as const;
const hub = new MemoryDiscoveryHub();
let server: Runtime;
let caller: Runtime;
let client: Client<{ n: number }, number>;

beforeAll(async () => {
  server = await Runtime.start({ transport: 'tcp', discovery: new MemoryDiscovery({ hub }) });
  await server
    .namespace(KEY.namespace)
    .component(KEY.component)
    .endpoint(KEY.endpoint)
    .serve(async function* (request) {
      for (let i = 0; i < (request as { n: number }).n; i++) yield i;
    });
  // An instance that died before discovery heard: its lease is there, its port refuses.
  hub.add({ ...KEY, instanceId: 'ghost', transport: 'tcp', address: '127.0.0.1:1' });
  caller = await Runtime.start({ transport: 'tcp', discovery: new MemoryDiscovery({ hub }) });
  client = await caller
    .namespace(KEY.namespace)
    .component(KEY.component)
    .endpoint<{ n: number }, number>(KEY.endpoint)
    .client();
  await client.waitForInstances({ count: 2 });
});

afterAll(async () => {
  await caller.shutdown({ graceMs: 0 });
  await server.shutdown({ graceMs: 0 });
});

describe('a request that never reached an instance', () => {
  it('is sent to another instance instead of failing, round-robin and random alike', async () => {
    for (let i = 0; i < 10; i++) {
      const items: number[] = [];
      const stream = i % 2 === 0 ? await client.generate({ n: 3 }) : await client.random({ n: 3 });
      for await (const item of stream) items.push(item);
      expect(items).toEqual([0, 1, 2]);
    }
  });

  it('is not moved when the caller named the instance', async () => {
    await expect(client.direct({ n: 1 }, 'ghost')).rejects.toBeInstanceOf(Disconnected);
  });
});
