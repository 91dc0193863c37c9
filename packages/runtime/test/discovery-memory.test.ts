import { afterEach, describe, expect, it } from 'vitest';
import type { Instance, InstanceChange } from '../src/discovery/discovery.js';
import { MemoryDiscovery, MemoryDiscoveryHub } from '../src/discovery/memory.js';
import type { DiscoveryWarning } from '../src/discovery/warning.js';

const key = { namespace: 'demo', component: 'server', endpoint: 'generate' };

function instance(id: string, extra: Partial<Instance> = {}): Instance {
  return { ...key, instanceId: id, transport: 'memory', address: `mem:${id}`, ...extra };
}

const ids = (list: readonly Instance[]) => list.map((i) => i.instanceId).sort();
// Changes are delivered on a microtask; a timer runs only after every queued microtask, so
// after a tick whatever was queued has been delivered, however slow the machine (order, not time).
const tick = () => new Promise((r) => setTimeout(r, 0));

const open: MemoryDiscovery[] = [];
function discovery(hub = new MemoryDiscoveryHub(), onWarning?: (w: DiscoveryWarning) => void) {
  const d = new MemoryDiscovery({ hub, ...(onWarning ? { onWarning } : {}) });
  open.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

describe('MemoryDiscovery', () => {
  it('shows instances registered before the watch, then joins and leaves in order', async () => {
    const hub = new MemoryDiscoveryHub();
    const server = discovery(hub);
    const client = discovery(hub);
    await server.register(instance('a'));
    const changes: InstanceChange[] = [];
    const watcher = await client.watch(key, (c) => changes.push(c));
    expect(ids(watcher.instances)).toEqual(['a']);

    const b = await server.register(instance('b'));
    await b.revoke();
    await server.register(instance('c'));
    await tick();
    expect(changes.map((c) => `${c.type} ${c.instance.instanceId}`)).toEqual([
      'added b',
      'removed b',
      'added c',
    ]);
    expect(changes[1]).toMatchObject({ type: 'removed', why: 'left' });
    expect(ids(watcher.instances)).toEqual(['a', 'c']);
  });

  it('delivers changes after register returns, not inside it', async () => {
    const d = discovery();
    const changes: InstanceChange[] = [];
    await d.watch(key, (c) => changes.push(c));
    const registering = d.register(instance('a'));
    expect(changes).toEqual([]);
    await registering;
    await tick();
    expect(changes).toHaveLength(1);
  });

  it('reports only the watched endpoint', async () => {
    const d = discovery();
    const changes: InstanceChange[] = [];
    await d.watch(key, (c) => changes.push(c));
    await d.register(instance('x', { endpoint: 'other' }));
    await d.register(instance('y', { component: 'other' }));
    await d.register(instance('a'));
    await tick();
    expect(changes.map((c) => c.instance.instanceId)).toEqual(['a']);
  });

  it('lets runtimes in one process find each other through the shared hub', async () => {
    const a = new MemoryDiscovery();
    const b = new MemoryDiscovery();
    open.push(a, b);
    expect(a.hub).toBe(MemoryDiscoveryHub.shared);
    const sharedKey = { ...key, namespace: 'shared-hub-test' };
    await a.register({ ...instance('one'), ...sharedKey });
    const watcher = await b.watch(sharedKey, () => {});
    expect(ids(watcher.instances)).toEqual(['one']);
  });

  it('keeps isolated hubs apart', async () => {
    const a = discovery();
    const b = discovery();
    await a.register(instance('a'));
    const watcher = await b.watch(key, () => {});
    expect(watcher.instances).toEqual([]);
  });

  it('close revokes only its own leases, as left, and stops its watchers', async () => {
    const hub = new MemoryDiscoveryHub();
    const server = discovery(hub);
    const other = discovery(hub);
    const observer = discovery(hub);
    await server.register(instance('a'));
    await other.register(instance('b'));
    const seen: InstanceChange[] = [];
    await observer.watch(key, (c) => seen.push(c));
    const ownChanges: InstanceChange[] = [];
    await server.watch(key, (c) => ownChanges.push(c));

    await server.close();
    await server.close(); // idempotent
    await other.register(instance('c'));
    await tick();
    expect(seen.map((c) => `${c.type} ${c.instance.instanceId}`)).toEqual(['removed a', 'added c']);
    expect(seen[0]).toMatchObject({ why: 'left' });
    expect(ownChanges).toEqual([]);
    expect(ids(hub.instances(key))).toEqual(['b', 'c']);
    await expect(server.register(instance('d'))).rejects.toThrow(/closed/);
  });

  it('reports nothing after watcher.close(), even changes already queued', async () => {
    const d = discovery();
    const changes: InstanceChange[] = [];
    const watcher = await d.watch(key, (c) => changes.push(c));
    const registering = d.register(instance('a')); // its change is queued, not yet delivered
    watcher.close();
    await registering;
    await tick();
    expect(changes).toEqual([]);
  });

  it('revoke is idempotent and a revoked id can register again', async () => {
    const d = discovery();
    const lease = await d.register(instance('a'));
    await lease.revoke();
    await lease.revoke();
    await d.register(instance('a'));
    expect(ids(d.hub.instances(key))).toEqual(['a']);
  });

  it('refuses a second live registration of the same instance id', async () => {
    const d = discovery();
    await d.register(instance('a'));
    await expect(d.register(instance('a'))).rejects.toThrow(
      /already registered.*demo\/server\/generate/,
    );
  });

  it('keeps delivering when a listener throws, and reports it as a warning', async () => {
    const warnings: DiscoveryWarning[] = [];
    const d = discovery(new MemoryDiscoveryHub(), (w) => warnings.push(w));
    const changes: string[] = [];
    await d.watch(key, (c) => {
      changes.push(c.instance.instanceId);
      throw new Error('listener bug');
    });
    await d.register(instance('a'));
    await d.register(instance('b'));
    await tick();
    expect(changes).toEqual(['a', 'b']);
    expect(warnings.map((w) => w.code)).toEqual(['listener-threw', 'listener-threw']);
  });

  it('does not see later mutations of the registered object', async () => {
    const d = discovery();
    const mine = { ...instance('a') };
    await d.register(mine);
    mine.address = 'changed';
    expect(d.hub.instances(key)[0]?.address).toBe('mem:a');
  });

  it('rejects bad input with TypeErrors that name the field', async () => {
    const d = discovery();
    await expect(d.register(instance('a', { namespace: '../x' }))).rejects.toThrow(TypeError);
    await expect(d.register(instance('a', { namespace: '../x' }))).rejects.toThrow(/namespace/);
    await expect(d.register(instance('has space'))).rejects.toThrow(/instanceId/);
    await expect(d.register({ ...instance('a'), transport: '' })).rejects.toThrow(/transport/);
    await expect(
      d.register({ ...instance('a'), metadata: { n: 1 } as unknown as Record<string, string> }),
    ).rejects.toThrow(/metadata\.n/);
    await expect(d.watch({ ...key, endpoint: '' }, () => {})).rejects.toThrow(/endpoint/);
    await expect(d.watch(key, 'nope' as never)).rejects.toThrow(/onChange/);
    expect(() => new MemoryDiscovery({ hub: {} as MemoryDiscoveryHub })).toThrow(TypeError);
  });
});
