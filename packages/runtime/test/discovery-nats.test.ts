import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TestClock } from '@andon/context';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type NatsServer,
  natsServerBinary,
  natsServerVersion,
  startNatsServer,
  stopAllNatsServers,
} from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import type { EndpointKey, Instance, InstanceChange } from '../src/discovery/discovery.js';
import type { DiscoveryWarning } from '../src/discovery/warning.js';
import { Disconnected } from '../src/errors.js';
import { NatsDiscovery, type NatsDiscoveryOptions } from '../src/nats/discovery.js';
import { announceSubject } from '../src/nats/discovery-subjects.js';
import { redactSecrets, resolveNatsOptions } from '../src/nats/options.js';

const bin = natsServerBinary();
const HOLDER = fileURLToPath(new URL('./fixtures/nats-lease-holder.mjs', import.meta.url));
const HOLDER_DIST = fileURLToPath(new URL('../dist/nats/discovery.js', import.meta.url));

const KEY: EndpointKey = { namespace: 'demo', component: 'server', endpoint: 'generate' };

function instance(id: string, key: EndpointKey = KEY): Instance {
  return {
    ...key,
    instanceId: id,
    transport: 'nats',
    address: `addr-${id}`,
    metadata: { pid: '1' },
  };
}

/**
 * Records a watcher's changes. `next` consumes them in order: it returns the first match
 * after the previous one, even when it arrived before `next` was called.
 */
class Changes {
  readonly all: InstanceChange[] = [];
  #cursor = 0;
  #wake: (() => void) | undefined;
  readonly listener = (change: InstanceChange) => {
    this.all.push(change);
    this.#wake?.();
  };

  async next(
    match: (c: InstanceChange) => boolean,
    timeoutMs = 5000,
  ): Promise<{ change: InstanceChange; ms: number }> {
    const t0 = performance.now();
    const until = t0 + timeoutMs;
    for (;;) {
      const at = this.all.findIndex((c, i) => i >= this.#cursor && match(c));
      if (at >= 0) {
        this.#cursor = at + 1;
        return { change: this.all[at]!, ms: performance.now() - t0 };
      }
      const left = until - performance.now();
      if (left <= 0)
        throw new Error(
          `no matching change within ${timeoutMs} ms; saw ${JSON.stringify(this.all)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}

const is =
  (type: 'added' | 'removed', id: string, why?: 'left' | 'expired') => (c: InstanceChange) =>
    c.type === type &&
    c.instance.instanceId === id &&
    (why === undefined || (c.type === 'removed' && c.why === why));

const ids = (list: readonly Instance[]) => list.map((i) => i.instanceId).sort();

/**
 * Moves `clock` on by `periods` lease times (of the first discovery), a third of a lease at
 * a time (one heartbeat), and after each step lets every announcement reach every watcher:
 * a flush of the senders, then of the receivers, means the server has passed them on.
 */
async function leasePeriods(clock: TestClock, periods: number, all: NatsDiscovery[]) {
  const total = periods * all[0]!.leaseMs;
  const step = all[0]!.leaseMs / 3;
  for (let moved = 0; moved < total; moved += step) {
    clock.advance(Math.min(step, total - moved));
    for (const d of all) await d.connection.flush();
    for (const d of all) await d.connection.flush();
  }
}

describe.skipIf(!bin)('NATS discovery (real nats-server)', () => {
  let server: NatsServer;
  const open = new Set<NatsDiscovery>();
  const children = new Set<ChildProcess>();
  const warnings: DiscoveryWarning[] = [];

  async function discovery(options: NatsDiscoveryOptions = {}, url = server.url) {
    const d = await NatsDiscovery.connect({
      servers: url,
      onWarning: (w) => warnings.push(w),
      ...options,
    });
    open.add(d);
    return d;
  }

  /** A discovery with its own warnings, to wait until it has lost or restored its connection. */
  async function witnessed(options: NatsDiscoveryOptions, url = server.url) {
    const own: DiscoveryWarning[] = [];
    const d = await discovery({ ...options, onWarning: (w) => own.push(w) }, url);
    const said = (text: RegExp, what: string) =>
      waitFor(() => own.some((w) => text.test(w.message)), what, 10_000);
    return {
      discovery: d,
      lost: () => said(/lost the NATS connection/, 'the connection lost'),
      restored: () => said(/connection restored/, 'the connection restored'),
    };
  }

  async function holder(url: string, inst: Instance, leaseMs?: number): Promise<ChildProcess> {
    if (!existsSync(HOLDER_DIST))
      throw new Error(`${HOLDER_DIST} is missing: run \`npx tsc -b\` first`);
    const child = spawn(
      process.execPath,
      [HOLDER, JSON.stringify({ servers: url, leaseMs, instance: inst })],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.add(child);
    child.once('exit', () => children.delete(child));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('lease holder did not start within 10 s')),
        10_000,
      );
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().startsWith('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`lease holder exited with ${code}`));
      });
    });
    return child;
  }

  beforeAll(async () => {
    server = await startNatsServer();
  });

  afterEach(async () => {
    for (const child of children) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await Promise.all([...open].map((d) => d.close()));
    open.clear();
    warnings.length = 0;
  });

  afterAll(async () => {
    await stopAllNatsServers();
  });

  it('shows a registered instance to watchers on other connections, and reports its revoke as left', async () => {
    const a = await discovery();
    const b = await discovery();
    const early = new Changes();
    const watchEarly = await b.watch(KEY, early.listener);
    expect(watchEarly.instances).toEqual([]);

    const lease = await a.register(instance('i1'));
    const { change, ms } = await early.next(is('added', 'i1'));
    expect(change).toEqual({ type: 'added', instance: instance('i1') });
    expect(ms).toBeLessThan(1000);

    // A watcher that starts later learns the instance from the query, not from a heartbeat.
    const c = await discovery({ leaseMs: 60_000 });
    const late = new Changes();
    const t0 = performance.now();
    const watchLate = await c.watch(KEY, late.listener);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(watchLate.instances).toEqual([instance('i1')]);

    await lease.revoke();
    await early.next(is('removed', 'i1', 'left'), 2000);
    await late.next(is('removed', 'i1', 'left'), 2000);
    expect(watchEarly.instances).toEqual([]);
    await lease.revoke(); // idempotent
  });

  it('keeps endpoints apart, including names with dots', async () => {
    const a = await discovery();
    const dotted: EndpointKey = { namespace: 'team.a', component: 'llm.v2', endpoint: 'gen' };
    const other: EndpointKey = { namespace: 'team', component: 'a.llm', endpoint: 'v2.gen' };
    await a.register(instance('d1', dotted));
    await a.register(instance('o1', other));
    const b = await discovery();
    const seen = new Changes();
    const w = await b.watch(dotted, seen.listener);
    expect(ids(w.instances)).toEqual(['d1']);
    await a.register(instance('o2', other));
    await a.register(instance('d2', dotted));
    await seen.next(is('added', 'd2'));
    expect(seen.all.map((c) => c.instance.instanceId)).toEqual(['d2']);
  });

  it('answers a watch on an endpoint nobody serves at once, with no instances', async () => {
    const b = await discovery();
    const t0 = performance.now();
    const w = await b.watch({ namespace: 'nobody', component: 'here', endpoint: 'x' }, () => {});
    expect(w.instances).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('refuses a second lease for the same instance id on the same endpoint', async () => {
    const a = await discovery();
    await a.register(instance('dup'));
    await expect(a.register(instance('dup'))).rejects.toThrow(/already registered/);
  });

  it('close() revokes every lease, stops watchers, and only closes a connection it opened', async () => {
    const nc = await connect({ servers: server.url });
    try {
      const a = await NatsDiscovery.connect({ connection: nc, onWarning: () => {} });
      open.add(a);
      const b = await discovery();
      const owned = await discovery();
      const seen = new Changes();
      await b.watch(KEY, seen.listener);
      await a.register(instance('c1'));
      await a.register(instance('c2'));
      await seen.next(is('added', 'c2'));
      const quiet = new Changes();
      await owned.watch(KEY, quiet.listener);
      await owned.close();
      expect(owned.connection.isClosed()).toBe(true);

      await a.close();
      await a.close(); // idempotent
      await seen.next(is('removed', 'c1', 'left'));
      await seen.next(is('removed', 'c2', 'left'));
      expect(nc.isClosed()).toBe(false);
      expect(quiet.all.filter((c) => c.type === 'removed')).toEqual([]);
      await expect(a.register(instance('c3'))).rejects.toThrow(/closed/);
      await expect(a.watch(KEY, () => {})).rejects.toThrow(/closed/);
    } finally {
      await nc.close();
    }
  });

  it('reports a SIGKILLed lease holder as expired within 3 s', async () => {
    const b = await discovery();
    const seen = new Changes();
    await b.watch(KEY, seen.listener);
    const child = await holder(server.url, instance('victim'));
    await seen.next(is('added', 'victim'));
    const t0 = performance.now();
    child.kill('SIGKILL');
    await seen.next(is('removed', 'victim', 'expired'), 5000);
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(3000);
    expect(ms).toBeGreaterThan(500); // it expired, it did not leave
  });

  it('expires a frozen (cut-off) holder and takes it back once it renews again', async () => {
    const b = await discovery();
    const seen = new Changes();
    await b.watch(KEY, seen.listener);
    const child = await holder(server.url, instance('frozen'));
    await seen.next(is('added', 'frozen'));
    child.kill('SIGSTOP');
    await seen.next(is('removed', 'frozen', 'expired'), 5000);
    child.kill('SIGCONT');
    await seen.next(is('added', 'frozen'), 5000);
  });

  it('ignores malformed messages on a discovery subject, with a warning, and keeps working', async () => {
    const nc = await connect({ servers: server.url });
    try {
      const b = await discovery();
      const seen = new Changes();
      await b.watch(KEY, seen.listener);
      const subject = announceSubject('andon.discovery', KEY);
      nc.publish(subject, 'not json');
      nc.publish(subject, JSON.stringify({ v: 99, kind: 'up' }));
      nc.publish(
        subject,
        JSON.stringify({
          v: 1,
          kind: 'up',
          leaseMs: 1000,
          leases: [{ lease: 'x', instance: instance('z', { ...KEY, endpoint: 'other' }) }],
        }),
      );
      await nc.flush();
      const a = await discovery();
      await a.register(instance('good'));
      await seen.next(is('added', 'good'));
      expect(seen.all).toHaveLength(1);
      expect(warnings.filter((w) => /bad message/.test(w.message))).toHaveLength(3);
    } finally {
      await nc.close();
    }
  });

  it('rejects bad options with a TypeError naming the option', async () => {
    const cases: [NatsDiscoveryOptions, RegExp][] = [
      [{ leaseMs: 5 }, /options\.leaseMs/],
      [{ leaseMs: Number.NaN }, /options\.leaseMs/],
      [{ servers: 'http://127.0.0.1:4222' }, /options\.servers/],
      [{ servers: [] }, /options\.servers/],
      [{ servers: [42 as unknown as string] }, /options\.servers/],
      [{ servers: server.url, user: 'u', token: 't' }, /options\.token/],
      [{ servers: server.url, password: 'p' }, /options\.password/],
      [{ subjectPrefix: 'a..b' }, /options\.subjectPrefix/],
      [{ subjectPrefix: 'a.*' }, /options\.subjectPrefix/],
      [{ connection: {} as NatsConnection }, /options\.connection/],
      [{ connectTimeoutMs: -1 }, /options\.connectTimeoutMs/],
      [{ onWarning: 'log' as unknown as () => void }, /onWarning/],
    ];
    for (const [options, message] of cases) {
      await expect(NatsDiscovery.connect(options), JSON.stringify(options)).rejects.toThrow(
        TypeError,
      );
      await expect(NatsDiscovery.connect(options)).rejects.toThrow(message);
    }
    const nc = await connect({ servers: server.url });
    try {
      await expect(NatsDiscovery.connect({ connection: nc, servers: server.url })).rejects.toThrow(
        /options\.servers cannot be combined with options\.connection/,
      );
    } finally {
      await nc.close();
    }
    const a = await discovery();
    await expect(a.register({ ...instance('x'), namespace: 'bad name' })).rejects.toThrow(
      TypeError,
    );
    await expect(a.watch({ ...KEY, endpoint: '' }, () => {})).rejects.toThrow(TypeError);
    await expect(a.watch(KEY, 'nope' as unknown as () => void)).rejects.toThrow(TypeError);
  });

  it('fails to connect with Disconnected, naming the server but not its password', async () => {
    const secured = await startNatsServer({ user: 'andon', password: 's3cr3t-pw' });
    const good = `nats://andon:s3cr3t-pw@127.0.0.1:${secured.port}`;
    const bad = `nats://andon:wr0ng-pw@127.0.0.1:${secured.port}`;
    const err = await NatsDiscovery.connect({ servers: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Disconnected);
    const text = `${(err as Error).message}\n${(err as Error).stack}`;
    expect(text).toContain(`nats://andon:***@127.0.0.1:${secured.port}`);
    expect(text).not.toContain('wr0ng-pw');

    const a = await discovery({}, good);
    await expect(NatsDiscovery.connect({ servers: secured.url })).rejects.toThrow(Disconnected);
    const watcher = await discovery({ servers: secured.url, user: 'andon', password: 's3cr3t-pw' });
    const seen = new Changes();
    await watcher.watch(KEY, seen.listener);
    await a.register(instance('auth'));
    await seen.next(is('added', 'auth'));
    // A restart produces connection warnings; none may carry the password.
    await secured.restart();
    await waitFor(() => warnings.some((w) => /restored/.test(w.message)), 'reconnect', 10_000);
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings) expect(JSON.stringify(w)).not.toContain('s3cr3t-pw');
    await secured.stop();
  });

  it('takes credentials from the environment: ANDON_NATS_URL, NATS_URL, NATS_USER/PASSWORD, NATS_TOKEN', async () => {
    const secured = await startNatsServer({ token: 't0ken-xyz' });
    const d = await discovery({
      servers: undefined,
      env: { ANDON_NATS_URL: secured.url, NATS_URL: 'nats://127.0.0.1:1', NATS_TOKEN: 't0ken-xyz' },
    });
    expect(d.connection.isClosed()).toBe(false);
    await secured.stop();

    const r = resolveNatsOptions({
      env: { NATS_URL: 'nats://h1:4222, tls://h2:4443', NATS_USER: 'u', NATS_PASSWORD: 'pw' },
    });
    expect(r.connect).toMatchObject({
      servers: ['nats://h1:4222', 'tls://h2:4443'],
      user: 'u',
      pass: 'pw',
    });
    expect(r.display).not.toContain('pw');
    expect(resolveNatsOptions({ servers: 'nats://tok@h:1', env: {} }).connect).toMatchObject({
      servers: ['nats://h:1'],
      token: 'tok',
    });
    expect(resolveNatsOptions({ env: {} }).connect.servers).toEqual(['nats://127.0.0.1:4222']);
    expect(resolveNatsOptions({ servers: '127.0.0.1:5222', env: {} }).connect.servers).toEqual([
      'nats://127.0.0.1:5222',
    ]);
  });

  it('TLS: a tls:// URL or any TLS file makes TLS required; files come from options, then NATS_CA / NATS_CERT / NATS_KEY', () => {
    const ca = new URL('./fixtures/tls/ca.pem', import.meta.url).pathname;
    const cert = new URL('./fixtures/tls/client.pem', import.meta.url).pathname;
    const key = new URL('./fixtures/tls/client-key.pem', import.meta.url).pathname;
    // Left to the server's offer: no tls option at all.
    expect(resolveNatsOptions({ servers: 'nats://h:1', env: {} }).connect.tls).toBeUndefined();
    expect(resolveNatsOptions({ servers: 'tls://h:1', env: {} }).connect.tls).toEqual({});
    expect(resolveNatsOptions({ servers: 'nats://h:1', env: { NATS_CA: ca } }).connect.tls).toEqual(
      { caFile: ca },
    );
    // Options win over the environment, field by field.
    expect(
      resolveNatsOptions({
        servers: 'nats://h:1',
        tls: { certFile: cert, keyFile: key },
        env: { NATS_CA: ca, NATS_CERT: '/elsewhere.pem' },
      }).connect.tls,
    ).toEqual({ caFile: ca, certFile: cert, keyFile: key });
    expect(() => resolveNatsOptions({ servers: 'nats://h:1', env: { NATS_KEY: key } })).toThrow(
      /NATS_KEY needs options\.tls\.certFile \(or NATS_CERT\)/,
    );
  });

  it('redacts URL passwords, tokens and known secrets from text', () => {
    expect(redactSecrets('at nats://me:hunter2@h:4222 and tls://tok@h2:1')).toBe(
      'at nats://me:***@h:4222 and tls://***@h2:1',
    );
    expect(redactSecrets('Authorization for hunter2 failed', ['hunter2'])).toBe(
      'Authorization for *** failed',
    );
  });

  it('resumes leases and re-syncs watchers after nats-server restarts', async () => {
    const own = await startNatsServer();
    const clock = new TestClock(Date.now());
    const a = await witnessed({ clock }, own.url);
    const b = await witnessed({ clock }, own.url);
    await a.discovery.register(instance('r1'));
    const seen = new Changes();
    const w = await b.discovery.watch(KEY, seen.listener);
    expect(ids(w.instances)).toEqual(['r1']);

    await own.restart();
    // A holder that joins after the restart is seen by the old watcher (its subscription is back)…
    const c = await discovery({ clock }, own.url);
    await c.register(instance('r2'));
    await seen.next(is('added', 'r2'), 10_000);
    // …the old lease is still there after several lease periods of renewals…
    await Promise.all([a.restored(), b.restored()]);
    await leasePeriods(clock, 2, [a.discovery, b.discovery, c]);
    expect(ids(w.instances)).toEqual(['r1', 'r2']);
    // …and a new watcher learns both from the query.
    const fresh = await (await discovery({}, own.url)).watch(KEY, () => {});
    expect(ids(fresh.instances)).toEqual(['r1', 'r2']);
    await own.stop();
  });

  it('keeps instances through an outage longer than the lease, then expires those that did not come back', async () => {
    const own = await startNatsServer();
    const clock = new TestClock(Date.now());
    const a = await witnessed({ clock }, own.url);
    const b = await witnessed({ clock }, own.url);
    await a.discovery.register(instance('stays'));
    const child = await holder(own.url, instance('dies'));
    const seen = new Changes();
    const w = await b.discovery.watch(KEY, seen.listener);
    expect(ids(w.instances)).toEqual(['dies', 'stays']);

    await own.stop();
    child.kill('SIGKILL');
    await b.lost();
    // This process cannot hear anyone now, so silence must not count against them.
    clock.advance(2 * b.discovery.leaseMs);
    expect(seen.all).toEqual([]);
    await own.restart();
    await Promise.all([a.restored(), b.restored()]);
    // One lease time after the watcher is back, the holder that did not come back expires;
    // the one that renews stays.
    await leasePeriods(clock, 1.5, [a.discovery, b.discovery]);
    await seen.next(is('removed', 'dies', 'expired'), 1000);
    expect(ids(w.instances)).toEqual(['stays']);
    await own.stop();
  });

  it('a watch that starts right after register() resolves finds the instance, with no heartbeat to help', async () => {
    // The holder's clock never moves, so it announces only at registration.
    const a = await discovery({ clock: new TestClock(Date.now()) });
    const b = await discovery();
    for (let i = 0; i < 20; i++) {
      const key = { ...KEY, endpoint: `fresh${i}` };
      await a.register(instance(`n${i}`, key));
      const w = await b.watch(key, () => {});
      expect(ids(w.instances), `registration ${i}`).toEqual([`n${i}`]);
    }
  });

  it('expires an instance one lease time after it was last heard, on the watcher’s clock, while renewals keep the others', async () => {
    const clock = new TestClock(Date.now());
    const a = await discovery({ clock });
    const b = await discovery({ clock });
    // Announced once at registration, then never again: its own clock never moves.
    const quiet = await discovery({ clock: new TestClock(Date.now()) });
    await a.register(instance('renews'));
    await quiet.register(instance('quiet'));
    const seen = new Changes();
    const w = await b.watch(KEY, seen.listener);
    expect(ids(w.instances)).toEqual(['quiet', 'renews']);

    await leasePeriods(clock, 1499 / 1500, [a, b]);
    expect(ids(w.instances)).toEqual(['quiet', 'renews']);
    clock.advance(1);
    expect(seen.all).toEqual([expect.objectContaining({ type: 'removed', why: 'expired' })]);
    expect(seen.all[0]!.instance.instanceId).toBe('quiet');
    await leasePeriods(clock, 3, [a, b]);
    expect(ids(w.instances)).toEqual(['renews']);
  });
});

describe.skipIf(!bin)('@nats-io/transport-node on this Node version', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ maxPayload: 4096 });
  });
  afterAll(() => stopAllNatsServers());

  it('publishes, subscribes, requests with headers, and drains', async () => {
    const nc = await connect({ servers: server.url });
    const sub = nc.subscribe('t.echo', {
      callback: (_e, m) => {
        const h = headers();
        h.set('Andon-Kind', m.headers?.get('Andon-Kind') ?? 'none');
        m.respond(`echo:${m.string()}`, { headers: h });
      },
    });
    const h = headers();
    h.set('Andon-Kind', 'request');
    const reply = await nc.request('t.echo', 'hi', { timeout: 2000, headers: h });
    expect(reply.string()).toBe('echo:hi');
    expect(reply.headers?.get('Andon-Kind')).toBe('request');
    await nc.drain();
    expect(sub.isClosed()).toBe(true);
    expect(nc.isClosed()).toBe(true);
  });

  // The NATS transport relies on this to learn at once that its peer's process is gone.
  it('answers a publish with a reply subject to a vanished subscriber with a 503 at once', async () => {
    const a = await connect({ servers: server.url });
    const b = await connect({ servers: server.url });
    try {
      const statuses: string[] = [];
      a.subscribe('t.back', {
        callback: (_e, m) => {
          statuses.push(m.headers?.status ?? m.string());
        },
      });
      const peer = b.subscribe('t.peer', { callback: () => {} });
      await Promise.all([a.flush(), b.flush()]);
      a.publish('t.peer', 'alive?', { reply: 't.back' });
      await a.flush();
      expect(statuses).toEqual([]);
      // The server drops a closed connection's subscriptions asynchronously; unsubscribing
      // and flushing first makes "the subscription is gone" certain before the publish.
      peer.unsubscribe();
      await b.flush();
      await b.close();
      const t0 = performance.now();
      a.publish('t.peer', 'alive?', { reply: 't.back' });
      await waitFor(() => statuses.length > 0, 'a no-responders status', 2000);
      expect(statuses).toEqual(['503']);
      expect(performance.now() - t0).toBeLessThan(500);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses a message above the server max_payload with a clear error', async () => {
    const nc = await connect({ servers: server.url });
    try {
      expect(nc.info?.max_payload).toBe(4096);
      expect(() => nc.publish('t.big', new Uint8Array(5000))).toThrow(/max_payload/);
      nc.publish('t.small', new Uint8Array(100)); // the connection is still usable
      await nc.flush();
    } finally {
      await nc.close();
    }
  });
});

describe('the nats-server test harness', () => {
  it('skips loudly without nats-server, and fails instead when ANDON_REQUIRE_NATS=1', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const missing = { ANDON_NATS_SERVER: '/nonexistent/nats-server' };
      expect(natsServerBinary(missing)).toBeUndefined();
      expect(warn.mock.calls.join('\n')).toMatch(
        /SKIPPING NATS TESTS.*apt-get install nats-server/s,
      );
      expect(() => natsServerBinary({ ...missing, ANDON_REQUIRE_NATS: '1' })).toThrow(
        /apt-get install nats-server.*ANDON_REQUIRE_NATS=1/s,
      );
    } finally {
      warn.mockRestore();
    }
  });

  it.skipIf(!bin)('runs nats-server 2.9 or newer', () => {
    const [major, minor] = (natsServerVersion() ?? '0.0').split('.').map(Number);
    expect(major! > 2 || (major === 2 && minor! >= 9)).toBe(true);
  });
});
