import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type NatsServer,
  natsServerBinary,
  startNatsServer,
} from '../../../test/support/nats-server.js';
import { assertBuilt, Cli, killAll, processesMentioning } from './support/cli.js';

/** The nats-server binary; the NATS tests skip without it (fail with ANDON_REQUIRE_NATS=1). */
const natsBin = natsServerBinary();

// Generous bounds: two shared cores, several engineers' suites at once.
const START_MS = 15_000;
const EXIT_MS = 15_000;

let dir: string;

beforeAll(assertBuilt);
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'andon-cli-test-'));
});
afterEach(async () => {
  await killAll(dir);
  await rm(dir, { recursive: true, force: true });
});

/** The lines of one tier in the orchestrator's output, without the prefix. */
function tier(lines: readonly string[], name: string): string[] {
  const prefix = `[${name}] `;
  return lines.filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}

function numbers(lines: readonly string[], pattern: RegExp): number[] {
  return lines.flatMap((l) => {
    const m = pattern.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

// Items a tier may still see after the client's stop: those the server sent while the stop
// travelled. One or two on a quiet machine (a step is STEP_MS, 100 ms); the bound is
// generous, for a loaded machine where the stop takes several steps to arrive (speed is
// what `npm run bench:runtime` measures). A stop that did not arrive would go far beyond.
const STRAGGLERS = 8;

/** Checks a client's lines: 0, 1, 2, the cancel, a few stragglers in order, the end. */
function expectClientStopped(client: readonly string[]): void {
  expect(client.slice(0, 4)).toEqual([
    'Client: Received 0',
    'Client: Received 1',
    'Client: Received 2',
    'Client: Cancelling after 3 responses...',
  ]);
  expect(client.at(-1)).toBe('Client: Stream stopped');
  // Items already on their way when the stop was sent stay valid, and arrive in order.
  const after = client.slice(4, -1);
  expect(after.length).toBeLessThanOrEqual(STRAGGLERS);
  expect(after).toEqual(after.map((_, i) => `Client: Received ${3 + i}`));
}

/** Checks a server's lines: it counted in order and stopped soon after the client's stop. */
function expectServerCancelled(server: readonly string[]): number {
  const cancelled = numbers(server, /^Server: Cancelled at iteration (\d+)$/);
  expect(cancelled).toHaveLength(1);
  const at = cancelled[0]!;
  expect(at).toBeGreaterThanOrEqual(3);
  expect(at).toBeLessThanOrEqual(3 + STRAGGLERS);
  const sent = numbers(server, /^Server: Sending iteration (\d+)$/);
  expect(sent).toEqual([...Array(at).keys()]);
  expect(server.at(-1)).toBe(`Server: Cancelled at iteration ${at}`);
  return at;
}

describe('andon demo (all three tiers)', () => {
  it('exits 0 once the stop has reached the server through the middle', async () => {
    const demo = new Cli(['demo'], { TMPDIR: dir });
    const ending = await demo.exit(START_MS + EXIT_MS);
    expect(ending, demo.transcript).toEqual({ code: 0, signal: null });

    for (const line of demo.stdout) expect(line).toMatch(/^\[(server|middle|client)\] /);
    expectClientStopped(tier(demo.stdout, 'client'));
    const at = expectServerCancelled(tier(demo.stdout, 'server'));
    const forwarded = numbers(
      tier(demo.stdout, 'middle'),
      /^Middle server: Forwarding response (\d+)$/,
    );
    expect(forwarded).toEqual([...Array(at).keys()]);
    // The client's stop comes before the server's cancel in the interleaved output too.
    const cancelling = demo.stdout.indexOf('[client] Client: Cancelling after 3 responses...');
    const cancelled = demo.stdout.indexOf(`[server] Server: Cancelled at iteration ${at}`);
    expect(cancelling).toBeGreaterThanOrEqual(0);
    expect(cancelled).toBeGreaterThan(cancelling);

    // Every tier ended, the temporary discovery directory removed.
    expect(processesMentioning(dir)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  }, 40_000);

  it('fails with a reason when the server never sees the stop, and still cleans up', async () => {
    const demo = new Cli(['demo', '--ignore-stop', '--timeout', '1500', '--kill-after', '1000'], {
      TMPDIR: dir,
    });
    const ending = await demo.exit(START_MS + EXIT_MS);
    expect(ending.code, demo.transcript).toBe(1);
    expect(demo.stderr).toContain(
      "andon demo: the server did not print 'Server: Cancelled at iteration' and the client did not finish within 1500 ms of the client starting",
    );
    expect(demo.stdout.some((l) => l.startsWith('[server] Server: Cancelled'))).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  }, 40_000);

  it('fails with a reason when a tier crashes', async () => {
    const demo = new Cli(['demo', '--ignore-stop'], { TMPDIR: dir });
    await demo.line(/^\[client\] Client: Received 1$/, START_MS);
    const [middle] = processesMentioning(dir, 'demo', 'middle');
    expect(middle).toBeDefined();
    process.kill(middle!, 'SIGKILL');
    const ending = await demo.exit(EXIT_MS);
    expect(ending.code, demo.transcript).toBe(1);
    // Whichever the orchestrator hears of first: the middle's death or the client's error.
    expect(demo.stderr.join('\n')).toMatch(
      /andon demo: the (middle was killed by SIGKILL|client exited with code 1) before the demo finished/,
    );
    expect(processesMentioning(dir)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  }, 40_000);

  it('on SIGINT stops every tier, removes its directory and exits 130', async () => {
    const demo = new Cli(['demo', '--ignore-stop'], { TMPDIR: dir });
    await demo.line(/^\[client\] Client: Received 0$/, START_MS);
    demo.child.kill('SIGINT');
    const ending = await demo.exit(EXIT_MS);
    expect(ending.code, demo.transcript).toBe(130);
    expect(demo.stderr.join('\n')).toContain('andon demo: interrupted (received SIGINT)');
    expect(processesMentioning(dir)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  }, 40_000);

  it('rejects bad flags with a clear message', async () => {
    const demo = new Cli(['demo', '--timeout', 'soon']);
    expect((await demo.exit(EXIT_MS)).code).toBe(1);
    expect(demo.stderr.join('\n')).toContain(
      "option '--timeout <ms>' argument 'soon' is invalid. expected a whole number of milliseconds >= 1",
    );
  });
});

describe.skipIf(!natsBin)('andon demo --nats', () => {
  let nats: NatsServer | undefined;
  afterEach(async () => {
    await nats?.stop();
    nats = undefined;
  });

  it('runs the three tiers over NATS, and two demos on one server stay apart', async () => {
    nats = await startNatsServer();
    const demos = [0, 1].map(() => new Cli(['demo', '--nats', nats!.url], { TMPDIR: dir }));
    for (const demo of demos) {
      expect(await demo.exit(START_MS + EXIT_MS), demo.transcript).toEqual({
        code: 0,
        signal: null,
      });
      expectClientStopped(tier(demo.stdout, 'client'));
      const at = expectServerCancelled(tier(demo.stdout, 'server'));
      // Each middle forwarded its own run's responses only.
      expect(
        numbers(tier(demo.stdout, 'middle'), /^Middle server: Forwarding response (\d+)$/),
      ).toEqual([...Array(at).keys()]);
    }
    expect(processesMentioning(nats.url)).toEqual([]);
  }, 60_000);

  it('an unreachable NATS server ends the demo as soon as a tier exits, naming the tier that could not start', async () => {
    const demo = new Cli(['demo', '--nats', 'nats://127.0.0.1:1'], { TMPDIR: dir });
    expect((await demo.exit(START_MS + EXIT_MS)).code, demo.transcript).toBe(1);
    const stderr = demo.stderr.join('\n');
    expect(stderr).toMatch(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
    // It ended on the tier's exit, not on the 15 s it gives the middle tier to start serving
    // (order, not a wall-clock bound a loaded machine can overrun).
    expect(stderr).toMatch(
      /andon demo: the (server|middle) exited with code 1 before the demo finished/,
    );
    expect(stderr).not.toMatch(/did not start serving within/);
    // Only the demo's own processes: another test file may run a worker on the same URL.
    expect(processesMentioning('nats://127.0.0.1:1', 'demo')).toEqual([]);
  }, 60_000);
});

describe.skipIf(!natsBin)('andon demo --nats over TLS', () => {
  // The runtime package's test certificates: a CA, a server certificate for 127.0.0.1, and
  // a client certificate the server requires.
  const pem = (name: string) =>
    fileURLToPath(new URL(`../../runtime/test/fixtures/tls/${name}`, import.meta.url));
  let nats: NatsServer | undefined;
  afterEach(async () => {
    await nats?.stop();
    nats = undefined;
  });

  it('runs the three tiers through a server that requires client certificates, the files named by NATS_CA, NATS_CERT and NATS_KEY', async () => {
    nats = await startNatsServer({
      tls: { certFile: pem('server.pem'), keyFile: pem('server-key.pem'), caFile: pem('ca.pem') },
    });
    expect(nats.tlsUrl).toMatch(/^tls:\/\//);
    const demo = new Cli(['demo', '--nats', nats.tlsUrl], {
      TMPDIR: dir,
      NATS_CA: pem('ca.pem'),
      NATS_CERT: pem('client.pem'),
      NATS_KEY: pem('client-key.pem'),
    });
    expect(await demo.exit(START_MS + EXIT_MS), demo.transcript).toEqual({ code: 0, signal: null });
    expectClientStopped(tier(demo.stdout, 'client'));
    expectServerCancelled(tier(demo.stdout, 'server'));
  }, 60_000);

  it('without the client certificate the demo fails, saying why', async () => {
    nats = await startNatsServer({
      tls: { certFile: pem('server.pem'), keyFile: pem('server-key.pem'), caFile: pem('ca.pem') },
    });
    const demo = new Cli(['demo', '--nats', nats.tlsUrl], { TMPDIR: dir, NATS_CA: pem('ca.pem') });
    const exit = await demo.exit(START_MS + EXIT_MS);
    expect(exit.code, demo.transcript).toBe(1);
    const stderr = demo.stderr.join('\n');
    expect(stderr).toMatch(/the server may require a client certificate/);
    // The tiers exit when their start fails, and the demo says which one ended it.
    expect(stderr).toMatch(
      /andon demo: the (server|middle) exited with code 1 before the demo finished/,
    );
  }, 60_000);
});

describe('andon demo server / client (separate processes)', () => {
  const ready = /^andon demo server: serving demo\/server\/generate as instance /;

  it('direct mode: the client stops the server without a middle tier', async () => {
    const server = new Cli(['demo', 'server', '--discovery-dir', dir]);
    await server.line(ready, START_MS);
    const client = new Cli(['demo', 'client', '--discovery-dir', dir]);
    expect(await client.exit(EXIT_MS), client.transcript).toEqual({ code: 0, signal: null });
    expect(client.stdout.length).toBeGreaterThan(0);
    expectClientStopped(client.stdout);
    await server.line(/^Server: Cancelled at iteration \d+$/, EXIT_MS);
    expectServerCancelled(server.stdout);

    // The server keeps serving after a request ends: a second client gets the same story.
    const again = new Cli(['demo', 'client', '--discovery-dir', dir]);
    expect((await again.exit(EXIT_MS)).code, again.transcript).toBe(0);
    expectClientStopped(again.stdout);
  }, 40_000);

  it('SIGTERM: the server shuts down gracefully and exits 0', async () => {
    const server = new Cli(['demo', 'server', '--discovery-dir', dir]);
    await server.line(ready, START_MS);
    server.child.kill('SIGTERM');
    expect(await server.exit(EXIT_MS), server.transcript).toEqual({ code: 0, signal: null });
    expect(server.stderr).toContain('andon demo server: shut down');
    // It left discovery: a client finds nobody.
    const client = new Cli(['demo', 'client', '--discovery-dir', dir, '--wait', '500']);
    expect((await client.exit(EXIT_MS)).code).toBe(1);
    expect(client.stderr.join('\n')).toContain('no instance of demo/server/generate');
  }, 40_000);

  it('a second signal kills a server that is still draining', async () => {
    // A stream that never ends (the server ignores the stop) and a long grace period keep
    // the first signal's graceful shutdown waiting.
    const server = new Cli([
      'demo',
      'server',
      '--discovery-dir',
      dir,
      '--ignore-stop',
      '--grace-ms',
      '60000',
    ]);
    await server.line(ready, START_MS);
    const client = new Cli(['demo', 'client', '--discovery-dir', dir]);
    await client.line(/^Client: Received 4$/, START_MS);
    server.child.kill('SIGTERM');
    await server.line(/shutting down \(grace 60000 ms\)/, EXIT_MS);
    // Still draining: it goes on serving the stream (it ignores the stop), five steps on.
    const sent = (line: string) => /^Server: Sending iteration (\d+)$/.exec(line)?.[1];
    const last = Number(server.stdout.map(sent).findLast((n) => n !== undefined) ?? -1);
    await server.line(new RegExp(`^Server: Sending iteration ${last + 5}$`), EXIT_MS);
    expect(server.running).toBe(true);
    server.child.kill('SIGTERM');
    expect(await server.exit(EXIT_MS), server.transcript).toEqual({ code: 143, signal: null });
    expect(server.stderr).toContain('andon demo server: second signal: exiting now');
    // The client learns that its server is gone, rather than hanging.
    expect((await client.exit(EXIT_MS)).code, client.transcript).toBe(1);
  }, 40_000);

  it('the middle tier forwards and exits 0 on SIGINT', async () => {
    const server = new Cli(['demo', 'server', '--discovery-dir', dir, '--namespace', 'other']);
    const middle = new Cli(['demo', 'middle', '--discovery-dir', dir, '--namespace', 'other']);
    await middle.line(/^andon demo middle: serving other\/middle\/generate /, START_MS);
    const client = new Cli([
      'demo',
      'client',
      '--middle',
      '--discovery-dir',
      dir,
      '--namespace',
      'other',
    ]);
    expect((await client.exit(EXIT_MS)).code, client.transcript).toBe(0);
    expectClientStopped(client.stdout);
    await server.line(/^Server: Cancelled at iteration \d+$/, EXIT_MS);
    middle.child.kill('SIGINT');
    server.child.kill('SIGINT');
    expect((await middle.exit(EXIT_MS)).code, middle.transcript).toBe(0);
    expect((await server.exit(EXIT_MS)).code, server.transcript).toBe(0);
  }, 40_000);
});
