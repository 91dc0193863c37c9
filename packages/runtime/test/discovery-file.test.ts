import { createHook } from 'node:async_hooks';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestClock } from '@andon/context';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import type { EndpointKey, Instance, InstanceChange } from '../src/discovery/discovery.js';
import {
  DISCOVERY_DIR_ENV,
  FileDiscovery,
  type FileDiscoveryOptions,
} from '../src/discovery/file.js';
import type { DiscoveryWarning } from '../src/discovery/warning.js';

const key: EndpointKey = { namespace: 'demo', component: 'server', endpoint: 'generate' };
const here = fileURLToPath(new URL('.', import.meta.url));
const holderScript = join(here, 'fixtures', 'discovery-holder.mjs');
const packageRoot = resolve(here, '..');

function instance(id: string, extra: Partial<Instance> = {}): Instance {
  return { ...key, instanceId: id, transport: 'tcp', address: `127.0.0.1:${id.length}`, ...extra };
}

const ids = (list: readonly Instance[]) => list.map((i) => i.instanceId).sort();

let dir: string;
const discoveries: FileDiscovery[] = [];
const children: ChildProcess[] = [];
const warnings: DiscoveryWarning[] = [];

function discovery(options: FileDiscoveryOptions = {}): FileDiscovery {
  const d = new FileDiscovery({ dir, onWarning: (w) => warnings.push(w), ...options });
  discoveries.push(d);
  return d;
}

/** A watcher that records changes and whether each instance is present. */
async function record(d: FileDiscovery, watchKey = key) {
  const changes: InstanceChange[] = [];
  const watcher = await d.watch(watchKey, (c) => changes.push(c));
  const has = (id: string) => watcher.instances.some((i) => i.instanceId === id);
  return { changes, watcher, has };
}

/**
 * Registers `count` marker instances one after another, waiting until the watcher behind
 * `has` sees each: every marker seen proves one more scan of the directory happened.
 */
async function scansSeen(has: (id: string) => boolean, tag: string, count: number) {
  const owner = discovery();
  for (let n = 1; n <= count; n++) {
    await owner.register(instance(`${tag}-${n}`));
    await waitFor(() => has(`${tag}-${n}`), `marker ${tag}-${n}`);
  }
}

function leaseFile(id: string, at = key): string {
  return join(dir, at.namespace, at.component, at.endpoint, `${id}.json`);
}

async function writeLease(id: string, fields: Record<string, unknown>): Promise<string> {
  const file = leaseFile(id);
  await mkdir(join(file, '..'), { recursive: true });
  const lease = {
    version: 1,
    instance: instance(id),
    pid: process.pid,
    hostname: hostname(),
    leaseMs: 1500,
    renewedAt: Date.now(),
    ...fields,
  };
  await writeFile(file, JSON.stringify(lease));
  return file;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'andon-discovery-test-'));
  warnings.length = 0;
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  }
  await Promise.all(discoveries.splice(0).map((d) => d.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('FileDiscovery in one process', () => {
  it('publishes a lease file that another discovery on the same directory sees', async () => {
    const server = discovery();
    await server.register(instance('a', { metadata: { version: '1' } }));
    const { watcher } = await record(discovery());
    expect(watcher.instances).toEqual([instance('a', { metadata: { version: '1' } })]);

    const lease = JSON.parse(await readFile(leaseFile('a'), 'utf8'));
    expect(lease).toMatchObject({
      version: 1,
      pid: process.pid,
      hostname: hostname(),
      leaseMs: 1500,
    });
    expect(Math.abs(lease.renewedAt - Date.now())).toBeLessThan(2000);
  });

  it('reports joins and revokes (as left) within a second, in order', async () => {
    const server = discovery();
    const { changes } = await record(discovery());
    const a = await server.register(instance('a'));
    const b = await server.register(instance('b'));
    await waitFor(() => changes.length === 2, 'two joins', 1000);
    await a.revoke();
    await waitFor(() => changes.length === 3, 'a leaving', 1000);
    expect(changes.map((c) => `${c.type} ${c.instance.instanceId}`)).toEqual([
      'added a',
      'added b',
      'removed a',
    ]);
    expect(changes[2]).toMatchObject({ why: 'left' });
    expect(existsSync(leaseFile('a'))).toBe(false);
    await b.revoke();
    await b.revoke(); // idempotent
  });

  it('reports only the watched endpoint', async () => {
    const server = discovery();
    const { changes, has } = await record(discovery());
    await server.register(instance('x', { endpoint: 'other' }));
    await server.register(instance('a'));
    await waitFor(() => has('a'), 'a', 1000);
    // Not a sleep: a later registration, once seen, proves the watcher has scanned since x
    // was written, so x would have been reported by then.
    await server.register(instance('b'));
    await waitFor(() => has('b'), 'b', 1000);
    expect(changes.map((c) => c.instance.instanceId)).toEqual(['a', 'b']);
  });

  it('renews the lease every renewMs by rewriting renewedAt with the clock’s time', async () => {
    const clock = new TestClock(Date.now());
    const start = clock.now();
    await discovery({ leaseMs: 300, clock }).register(instance('a'));
    const renewedAt = async () => JSON.parse(await readFile(leaseFile('a'), 'utf8')).renewedAt;
    expect(await renewedAt()).toBe(start);
    clock.advance(100); // renewMs defaults to a third of leaseMs
    await waitFor(async () => (await renewedAt()) === start + 100, 'the first renewal');
    clock.advance(100);
    await waitFor(async () => (await renewedAt()) === start + 200, 'the second renewal');
  });

  it('takes its directory from the option, then ANDON_DISCOVERY_DIR, then the OS temp dir', () => {
    const saved = process.env[DISCOVERY_DIR_ENV];
    try {
      process.env[DISCOVERY_DIR_ENV] = join(dir, 'from-env');
      expect(new FileDiscovery().dir).toBe(join(dir, 'from-env'));
      expect(new FileDiscovery({ dir: join(dir, 'opt') }).dir).toBe(join(dir, 'opt'));
      delete process.env[DISCOVERY_DIR_ENV];
      expect(new FileDiscovery().dir).toBe(join(tmpdir(), 'andon-discovery'));
    } finally {
      if (saved === undefined) delete process.env[DISCOVERY_DIR_ENV];
      else process.env[DISCOVERY_DIR_ENV] = saved;
    }
  });

  it('creates a missing directory, and carries on when it is removed while in use', async () => {
    const nested = join(dir, 'not', 'there', 'yet');
    const server = discovery({ dir: nested, leaseMs: 600 });
    await server.register(instance('a'));
    const { changes, has } = await record(discovery({ dir: nested, leaseMs: 600, pollMs: 100 }));
    expect(has('a')).toBe(true);

    // Retried: a renewal may recreate the directory while rm empties it (ENOTEMPTY).
    await rm(join(nested, 'demo'), { recursive: true, force: true, maxRetries: 10 });
    await waitFor(() => !has('a'), 'a gone with the directory');
    // The owner's next renewal recreates the directory and the watcher picks it up again.
    await waitFor(() => has('a'), 'a back');
    expect(changes.map((c) => c.type)).toEqual(['removed', 'added']);
  });

  it('ignores and deletes a lease not renewed within its lease time', async () => {
    const file = await writeLease('old', { renewedAt: Date.now() - 10_000 });
    const d = discovery();
    const { watcher } = await record(d);
    expect(watcher.instances).toEqual([]);
    await waitFor(() => !existsSync(file), 'stale file removed');
    expect(d.stats.staleRemoved).toBe(1);
  });

  it('ignores and deletes a fresh lease whose process is gone', async () => {
    const deadPid = execFileSync(
      process.execPath,
      ['-e', 'process.stdout.write(String(process.pid))'],
      {
        encoding: 'utf8',
      },
    );
    const file = await writeLease('orphan', { pid: Number(deadPid) });
    const { watcher } = await record(discovery());
    expect(watcher.instances).toEqual([]);
    await waitFor(() => !existsSync(file), 'orphan file removed');
  });

  it('trusts a fresh lease from another host by time alone', async () => {
    await writeLease('remote', { hostname: 'some-other-host', pid: 999_999_999 });
    await writeLease('remote-old', { hostname: 'some-other-host', renewedAt: Date.now() - 10_000 });
    const { watcher } = await record(discovery());
    expect(ids(watcher.instances)).toEqual(['remote']);
  });

  it('reports a lease that goes stale as expired, once its lease time has passed on the clock', async () => {
    const clock = new TestClock(Date.now());
    await writeLease('short', { leaseMs: 300, renewedAt: clock.now() });
    const { changes, has } = await record(discovery({ pollMs: 100, clock }));
    expect(has('short')).toBe(true);
    // A scan with no time passed (a marker lease, once seen, proves it ran) keeps it.
    await discovery().register(instance('marker'));
    await waitFor(() => has('marker'), 'the marker');
    expect(has('short')).toBe(true);
    clock.advance(300); // exactly its lease time: not yet stale
    clock.advance(100); // the next poll finds it stale
    await waitFor(() => !has('short'), 'expiry');
    expect(changes.filter((c) => c.instance.instanceId === 'short')).toMatchObject([
      { type: 'removed', why: 'expired' },
    ]);
  });

  it('reports expired to every watcher, whichever of them removed the stale lease', async () => {
    const clock = new TestClock(Date.now());
    await writeLease('short', { leaseMs: 300, renewedAt: clock.now() });
    const fast = await record(discovery({ pollMs: 50, clock }));
    const slow = await record(discovery({ pollMs: 400, clock }));
    clock.advance(400);
    await waitFor(() => fast.changes.length + slow.changes.length === 2, 'both see it go', 3000);
    expect(fast.changes[0]).toMatchObject({ type: 'removed', why: 'expired' });
    expect(slow.changes[0]).toMatchObject({ type: 'removed', why: 'expired' });
  });

  it('ignores garbage and temp files, counts and warns once each, and keeps working', async () => {
    const endpointDir = join(dir, 'demo', 'server', 'generate');
    await mkdir(join(endpointDir, 'adir.json'), { recursive: true });
    await writeFile(join(endpointDir, 'junk.json'), '{not json');
    await writeFile(join(endpointDir, 'empty.json'), '');
    await writeLease('wrongversion', { version: 99 });
    await writeLease('mismatch', { instance: instance('someone-else') });
    await writeFile(join(endpointDir, '.a.json.1.abc.tmp'), '{"partial":');
    await writeFile(join(endpointDir, 'README.txt'), 'not a lease');

    const d = discovery({ pollMs: 50 });
    const { watcher, has } = await record(d);
    expect(watcher.instances).toEqual([]);
    await discovery().register(instance('good'));
    await waitFor(() => has('good'), 'the good instance');
    // Several more scans (each marker lease, once seen, proves one): each bad file is still
    // reported once.
    await scansSeen(has, 'more', 3);
    expect(ids(watcher.instances)).toEqual(['good', 'more-1', 'more-2', 'more-3']);
    expect(d.stats.badFiles).toBe(5);
    const bad = warnings.filter((w) => w.code === 'bad-lease-file');
    expect(bad).toHaveLength(5);
    expect(bad.map((w) => w.message).join('\n')).toMatch(/junk\.json: not valid JSON/);
    expect(bad.map((w) => w.message).join('\n')).toMatch(/unknown lease format version 99$/m);
  });

  it('reports a rewritten garbage file again only when it changes', async () => {
    const endpointDir = join(dir, 'demo', 'server', 'generate');
    await mkdir(endpointDir, { recursive: true });
    await writeFile(join(endpointDir, 'junk.json'), 'x');
    const d = discovery({ pollMs: 50 });
    const { has } = await record(d);
    // Instead of sleeping through "several polls": each marker lease, once seen, proves
    // one more scan of the directory happened.
    expect(d.stats.badFiles).toBe(1);
    await scansSeen(has, 'unchanged', 2);
    expect(d.stats.badFiles).toBe(1);
    // Replaced in one step (written beside the directory, then renamed into it): a scan
    // sees the old version or the new one, never a truncated file in between.
    await writeFile(join(dir, 'junk.next'), 'xyz');
    await rename(join(dir, 'junk.next'), join(endpointDir, 'junk.json'));
    await waitFor(() => d.stats.badFiles === 2, 'the new version counted');
    await scansSeen(has, 'settled', 2);
    expect(d.stats.badFiles).toBe(2);
  });

  it('refuses a second live registration of an instance id, and replaces a stale one', async () => {
    await discovery().register(instance('a'));
    await expect(discovery().register(instance('a'))).rejects.toThrow(
      new RegExp(`"a" is already registered for demo/server/generate by pid ${process.pid}`),
    );
    await writeLease('b', { renewedAt: 0 });
    await discovery().register(instance('b'));
    const { watcher } = await record(discovery());
    expect(ids(watcher.instances)).toEqual(['a', 'b']);
  });

  it('sees many instances registered concurrently by several discoveries', async () => {
    const servers = [discovery(), discovery(), discovery(), discovery()];
    const { changes, watcher } = await record(discovery());
    const leases = await Promise.all(
      Array.from({ length: 200 }, (_, i) => servers[i % 4]!.register(instance(`i${i}`))),
    );
    await waitFor(() => watcher.instances.length === 200, '200 joins', 5000);
    await Promise.all(leases.map((lease) => lease.revoke()));
    await waitFor(() => watcher.instances.length === 0, '200 leaves', 5000);
    expect(changes.filter((c) => c.type === 'added')).toHaveLength(200);
    expect(changes.filter((c) => c.type === 'removed' && c.why === 'left')).toHaveLength(200);
    expect(await readdir(join(dir, 'demo', 'server', 'generate'))).toEqual([]);
  });

  it('close() revokes its leases, stops its watchers and leaves no timer or fs watcher', async () => {
    // Timers and fs watchers are unref'd, so getActiveResourcesInfo() cannot see them: track
    // their creation and destruction instead.
    const live = new Map<number, string>();
    const hook = createHook({
      init(id, type) {
        if (type === 'Timeout' || type === 'FSEVENTWRAP') live.set(id, type);
      },
      destroy(id) {
        live.delete(id);
      },
    }).enable();
    try {
      const d = discovery();
      await d.register(instance('a'));
      const changes: InstanceChange[] = [];
      await d.watch(key, (c) => changes.push(c));
      await d.watch({ ...key, endpoint: 'other' }, (c) => changes.push(c));
      expect([...live.values()].sort()).toEqual([
        'FSEVENTWRAP',
        'FSEVENTWRAP',
        'Timeout',
        'Timeout',
        'Timeout',
      ]);

      await d.close();
      await d.close(); // idempotent
      await new Promise((r) => setImmediate(r));
      expect([...live.values()]).toEqual([]);
      hook.disable();

      expect(existsSync(leaseFile('a'))).toBe(false);
      // A watcher still open sees b join: the closed ones, which hold no timer or fs
      // watcher any more (above), report nothing.
      const open = await record(discovery());
      await discovery().register(instance('b'));
      await waitFor(() => open.has('b'), 'b, seen by an open watcher');
      expect(changes).toEqual([]);
      await expect(d.register(instance('c'))).rejects.toThrow(/closed/);
      await expect(d.watch(key, () => {})).rejects.toThrow(/closed/);
    } finally {
      hook.disable();
    }
  });

  it('keeps delivering when a listener throws', async () => {
    const server = discovery();
    const seen: string[] = [];
    await discovery().watch(key, (c) => {
      seen.push(c.instance.instanceId);
      throw new Error('listener bug');
    });
    await server.register(instance('a'));
    await server.register(instance('b'));
    await waitFor(() => seen.length === 2, 'both');
    expect(warnings.some((w) => w.code === 'listener-threw')).toBe(true);
  });

  it('rejects bad options and input with TypeErrors that name them', async () => {
    expect(() => new FileDiscovery({ dir: '' })).toThrow(/options\.dir/);
    expect(() => new FileDiscovery({ leaseMs: 0 })).toThrow(TypeError);
    expect(() => new FileDiscovery({ leaseMs: Number.NaN })).toThrow(/leaseMs/);
    expect(() => new FileDiscovery({ pollMs: -1 })).toThrow(/pollMs/);
    expect(() => new FileDiscovery({ leaseMs: 100, renewMs: 100 })).toThrow(/renewMs/);
    expect(() => new FileDiscovery({ clock: {} as never })).toThrow(
      /new FileDiscovery: options.clock must be a Clock/,
    );
    expect(() => new FileDiscovery({ onWarning: 1 as never })).toThrow(/onWarning/);
    const d = discovery();
    await expect(d.register(instance('../../etc'))).rejects.toThrow(TypeError);
    await expect(d.register(instance('a', { component: '..' }))).rejects.toThrow(/component/);
    await expect(d.watch({ ...key, namespace: 'a/b' }, () => {})).rejects.toThrow(/namespace/);
  });
});

describe('FileDiscovery against planted leases', () => {
  it('ignores a lease renewed in the future (it would never lapse), with or without a secret', async () => {
    await writeLease('planted', { renewedAt: Date.now() + 365 * 86_400_000 });
    await writeLease('fresh', {});
    const { watcher } = await record(discovery());
    expect(ids(watcher.instances)).toEqual(['fresh']);
  });

  it('with a token, signs its leases and ignores leases not signed with the same token', async () => {
    const signed = discovery({ token: 'deployment-secret' });
    await signed.register(instance('real'));
    expect(JSON.parse(await readFile(leaseFile('real'), 'utf8')).signature).toEqual(
      expect.any(String),
    );
    await writeLease('unsigned', {});
    await discovery({ token: 'other-secret' }).register(instance('foreign'));
    const { watcher } = await record(discovery({ token: 'deployment-secret' }));
    expect(ids(watcher.instances)).toEqual(['real']);
    const reasons = warnings.filter((w) => w.code === 'bad-lease-file').map((w) => w.message);
    expect(reasons.join('\n')).toMatch(/unsigned\.json: the lease is not signed/);
    expect(reasons.join('\n')).toMatch(/foreign\.json: the lease is signed with another secret/);
    // A signed lease edited by hand (another address) no longer passes.
    const text = JSON.parse(await readFile(leaseFile('real'), 'utf8'));
    text.instance.address = '127.0.0.1:6666';
    await writeFile(leaseFile('real'), JSON.stringify(text));
    await waitFor(() => watcher.instances.length === 0, 'the edited lease ignored');
  });

  // Giving a directory to another user takes root; CI runs as root.
  it.skipIf(process.getuid?.() !== 0)(
    'refuses a directory another user owns, saying why and what to do',
    async () => {
      const { chown } = await import('node:fs/promises');
      await chown(dir, 4321, 4321);
      const error = await discovery()
        .register(instance('a'))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(
        /belongs to user 4321, not to this user \(0\): another user could plant leases in it; choose another directory \(--discovery-dir or \$ANDON_DISCOVERY_DIR\)/,
      );
      await expect(record(discovery())).rejects.toThrow(/belongs to user 4321/);
      expect(existsSync(leaseFile('a'))).toBe(false);
    },
  );

  it('keeps its directory and lease files to this user (0700 / 0600), and tightens an open root', async () => {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o755 });
    const { chmod } = await import('node:fs/promises');
    await chmod(dir, 0o755);
    await discovery().register(instance('a'));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const part of [
      join(dir, key.namespace),
      join(dir, key.namespace, key.component),
      join(dir, key.namespace, key.component, key.endpoint),
    ])
      expect(statSync(part).mode & 0o777).toBe(0o700);
    expect(statSync(leaseFile('a')).mode & 0o777).toBe(0o600);
  });
});

describe('FileDiscovery across processes', () => {
  beforeAll(() => {
    // The holder runs the built JavaScript: rebuild when a source is newer than its output.
    const sources = ['file', 'file-watcher', 'lease-file', 'check', 'view', 'warning', 'discovery'];
    const stale = () =>
      sources.some((name) => {
        const built = join(packageRoot, 'dist', 'discovery', `${name}.js`);
        const source = join(packageRoot, 'src', 'discovery', `${name}.ts`);
        return !existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs;
      });
    if (!stale()) return;
    const tsc = join(packageRoot, '../../node_modules/typescript/bin/tsc');
    try {
      execFileSync(process.execPath, [tsc, '-b', packageRoot], { stdio: 'ignore' });
    } catch {
      // Errors elsewhere in the build still emit our files; the check below decides.
    }
    if (stale()) throw new Error('packages/runtime/dist/discovery is stale: run `npx tsc -b`');
  }, 60_000);

  interface HolderOptions {
    instances: Instance[];
    leaseMs?: number;
    mode?: 'hold' | 'close' | 'leave-open';
    watch?: EndpointKey;
  }

  /** Starts a holder process and resolves once its leases are written. */
  async function holder(options: HolderOptions): Promise<ChildProcess> {
    const child = spawn(process.execPath, [holderScript, JSON.stringify({ dir, ...options })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`holder not ready in 10 s: ${stderr}`)),
        10_000,
      );
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          ready();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`holder exited with ${code} before ready: ${stderr}`));
      });
    });
    return child;
  }

  function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
    if (child.exitCode !== null) return Promise.resolve(child.exitCode);
    return new Promise((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`process did not exit within ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once('exit', (code) => {
        clearTimeout(timer);
        done(code);
      });
    });
  }

  it('a SIGKILLed holder is reported expired within 2 s and its file removed', async () => {
    const child = await holder({ instances: [instance('victim')] });
    const { changes, has } = await record(discovery());
    expect(has('victim')).toBe(true);
    child.kill('SIGKILL');
    const took = await waitFor(() => changes.length === 1, 'victim removed', 2000);
    expect(changes[0]).toMatchObject({ type: 'removed', why: 'expired' });
    expect(took).toBeLessThan(2000);
    await waitFor(() => !existsSync(leaseFile('victim')), 'file removed');
  });

  it('a frozen holder expires within its lease time, and comes back when it thaws', async () => {
    const leaseMs = 800;
    const child = await holder({ instances: [instance('frozen')], leaseMs });
    const { changes, has } = await record(discovery({ pollMs: 200 }));
    expect(has('frozen')).toBe(true);

    child.kill('SIGSTOP');
    const took = await waitFor(() => !has('frozen'), 'expiry', leaseMs + 200 + 2000);
    expect(changes[0]).toMatchObject({ type: 'removed', why: 'expired' });
    expect(took).toBeGreaterThan(leaseMs / 3); // it had to wait for the lease, not the pid

    child.kill('SIGCONT');
    await waitFor(() => has('frozen'), 'it renews and reappears', 3000);
    expect(changes.map((c) => c.type)).toEqual(['removed', 'added']);
  });

  it('a holder that closes is reported as left', async () => {
    const child = await holder({ instances: [instance('polite')] });
    const { changes } = await record(discovery());
    child.kill('SIGTERM');
    await waitFor(() => changes.length === 1, 'left', 2000);
    expect(changes[0]).toMatchObject({ type: 'removed', why: 'left' });
    expect(await exited(child, 5000)).toBe(0);
  });

  it('several processes registering at once are all seen, and all go when killed', async () => {
    const { watcher } = await record(discovery());
    const batch = (p: number) => Array.from({ length: 25 }, (_, i) => instance(`p${p}-${i}`));
    const holders = await Promise.all([0, 1, 2].map((p) => holder({ instances: batch(p) })));
    await waitFor(() => watcher.instances.length === 75, '75 instances', 3000);
    for (const child of holders) child.kill('SIGKILL');
    await waitFor(() => watcher.instances.length === 0, 'none left', 3000);
  });

  it('a process that closes its discovery exits by itself and leaves no lease', async () => {
    const child = await holder({ instances: [instance('done')], mode: 'close', watch: key });
    expect(await exited(child, 5000)).toBe(0);
    expect(existsSync(leaseFile('done'))).toBe(false);
  });

  it('an open discovery does not keep its process alive', async () => {
    const child = await holder({ instances: [instance('open')], mode: 'leave-open', watch: key });
    expect(await exited(child, 5000)).toBe(0);
    // Its lease is left behind with a dead pid: the next watcher ignores and removes it.
    const { watcher } = await record(discovery());
    expect(watcher.instances).toEqual([]);
    await waitFor(() => !existsSync(leaseFile('open')), 'file removed');
  });
});
