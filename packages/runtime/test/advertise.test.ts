import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { MemoryDiscovery, MemoryDiscoveryHub } from '../src/discovery/memory.js';
import { Runtime } from '../src/runtime.js';
import { advertisedHost } from '../src/transports/advertise.js';

describe('the address an instance advertises', () => {
  it('is never 0.0.0.0 or ::: an external address of this machine stands in, or a clear error', () => {
    const external = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((address) => address.family === 'IPv4' && !address.internal)
      .map((address) => address.address);
    for (const unspecified of ['0.0.0.0', '::']) {
      if (external.length > 0) expect(advertisedHost(unspecified, undefined)).toBe(external[0]);
      else expect(() => advertisedHost(unspecified, undefined)).toThrow(/set options\.advertise/);
    }
    expect(advertisedHost('0.0.0.0', 'worker-3.internal')).toBe('worker-3.internal');
    expect(advertisedHost('127.0.0.1', undefined)).toBe('127.0.0.1');
  });

  it('is what discovery publishes, and callers reach the instance there', async () => {
    const hub = new MemoryDiscoveryHub();
    const server = await Runtime.start({
      transport: 'tcp',
      host: '127.0.0.1',
      advertise: 'localhost',
      discovery: new MemoryDiscovery({ hub }),
    });
    const caller = await Runtime.start({
      transport: 'tcp',
      discovery: new MemoryDiscovery({ hub }),
    });
    try {
      const served = await server
        .namespace('adv')
        .component('server')
        .endpoint('one')
        .serve(async function* () {
          yield 'here';
        });
      expect(served.instance.address).toMatch(/^localhost:\d+$/);
      const client = await caller.namespace('adv').component('server').endpoint('one').client();
      await client.waitForInstances();
      const items: unknown[] = [];
      for await (const item of await client.generate({})) items.push(item);
      expect(items).toEqual(['here']);
    } finally {
      await caller.shutdown({ graceMs: 0 });
      await server.shutdown({ graceMs: 0 });
    }
  });

  it('must be a host, not a URL or host:port with spaces', async () => {
    await expect(
      Runtime.start({ transport: 'tcp', advertise: 'http://x/' } as never),
    ).rejects.toThrow(/options\.advertise must be a host name or IP address/);
  });
});
