import { Disconnected, Runtime, type RuntimeOptions } from '@andon/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type NatsServer,
  natsServerBinary,
  startNatsServer,
  stopAllNatsServers,
} from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { captureLogger } from './support/capture-logger.js';
import { drain } from './support/drain.js';
import { HEARTBEAT_MS } from './support/peers.js';

const bin = natsServerBinary();
const ns = 'perm';

afterAll(() => stopAllNatsServers());

// Users as a NATS operator would write them: `full` may do anything; `tenant` only under
// `other.>`; `nolisten` everything under `andon.>` but subscribing where responders listen;
// `nowatch` everything under `andon.>` but subscribing to discovery's announcements;
// `noserve` everything under `andon.>` but publishing to responders.
const USERS = `authorization {
  users: [
    { user: "full", password: "pw" }
    { user: "tenant", password: "pw", permissions: {
        publish: ["other.>"], subscribe: ["other.>"] } }
    { user: "nolisten", password: "pw", permissions: {
        publish: ["andon.>"], subscribe: { allow: ["andon.>"], deny: ["andon.v1.rt.>"] } } }
    { user: "nowatch", password: "pw", permissions: {
        publish: ["andon.>"], subscribe: { allow: ["andon.>"], deny: ["andon.discovery.v1.ann.>"] } } }
    { user: "noserve", password: "pw", permissions: {
        publish: { allow: ["andon.>"], deny: ["andon.v1.rt.>"] },
        subscribe: ["andon.>"] } }
  ]
}`;

describe.skipIf(!bin)('NATS permissions', () => {
  let server: NatsServer;
  const runtimes: Runtime[] = [];
  const url = (user: string) => server.url.replace('nats://', `nats://${user}:pw@`);
  const start = async (user: string, extra: RuntimeOptions = {}) => {
    const rt = await Runtime.start({ transport: 'nats', natsUrl: url(user), ...extra });
    runtimes.push(rt);
    return rt;
  };

  beforeAll(async () => {
    server = await startNatsServer({ extraConfig: USERS });
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.shutdown({ graceMs: 0 })));
  });

  it('a NATS user without permissions on the prefix cannot start a runtime, and is told what to grant', async () => {
    const error = await start('tenant').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Disconnected);
    const message = (error as Error).message;
    expect(message).toMatch(
      /refuses to let this runtime (publish|subscribe) to "andon\.v1\.probe\./,
    );
    expect(message).toMatch(
      /needs publish and subscribe on "andon\.>" \(natsPrefix sets the prefix\)/,
    );
    expect(message).not.toContain('pw');
  });

  it('with natsPrefix inside its permissions, the same user serves and calls', async () => {
    const serving = await start('tenant', { natsPrefix: 'other', heartbeatMs: HEARTBEAT_MS });
    const calling = await start('tenant', { natsPrefix: 'other', heartbeatMs: HEARTBEAT_MS });
    await serving
      .namespace(ns)
      .component('tenant')
      .endpoint('echo')
      .serve(async (r) => ({ echo: r }));
    const client = await calling.namespace(ns).component('tenant').endpoint('echo').client();
    await client.waitForInstances({ timeoutMs: 5000 });
    expect((await drain(await client.generate(7))).items).toEqual([{ echo: 7 }]);
  });

  it('serve() fails with Disconnected, naming the subscription, when the server refuses it', async () => {
    // A caller already watching, so an announcement, had one been made, would reach it.
    const caller = await start('full');
    const client = await caller.namespace(ns).component('deaf').endpoint('echo').client();
    const rt = await start('nolisten');
    const error = await rt
      .namespace(ns)
      .component('deaf')
      .endpoint('echo')
      .serve(async (r) => r)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Disconnected);
    expect((error as Error).message).toMatch(
      /NATS ended the subscription to andon\.v1\.rt\.\S+\.\* \(.*Permissions Violation.*\): its NATS user needs publish and subscribe on "andon\.>"/i,
    );
    // Nothing was announced: callers never see an instance that cannot hear them. A marker
    // instance announced after the refusal reaches the caller; the deaf one came before it.
    const marker = await start('full');
    await marker
      .namespace(ns)
      .component('deaf')
      .endpoint('echo')
      .serve(async (r) => r);
    await client.waitForInstances({ timeoutMs: 5000 });
    expect(client.instances.map((i) => i.instanceId)).toEqual([marker.instanceId]);
    client.close();
  });

  it('a discovery subscription the server refuses is logged as a warning that says what to grant', async () => {
    const lines: string[] = [];
    const rt = await start('nowatch', { logger: captureLogger(lines) });
    const client = await rt.namespace(ns).component('unseen').endpoint('echo').client();
    await waitFor(() => lines.some((l) => l.includes('watch-failed')), 'the watch-failed warning', {
      timeoutMs: 3000,
      everyMs: 20,
    }).catch(() => {}); // the assertion below shows what was logged instead
    client.close();
    const warning = lines.find((l) => l.includes('watch-failed'));
    expect(warning, lines.join('\n')).toMatch(
      /cannot watch perm\/unseen\/echo: NATS refused it; its NATS user needs publish and subscribe on "andon\.discovery\.>": Permissions Violation for Subscription/,
    );
  });

  it('a publish the server refuses fails that call at once with Disconnected, naming the refusal', async () => {
    const serving = await start('full');
    await serving
      .namespace(ns)
      .component('refused')
      .endpoint('echo')
      .serve(async (r) => ({ echo: r }));
    // Default heartbeats (1 s, 3 missed): silence would take about 3 s to notice.
    const calling = await start('noserve');
    const client = await calling.namespace(ns).component('refused').endpoint('echo').client();
    await client.waitForInstances({ timeoutMs: 5000 });
    const began = performance.now();
    const { error } = await drain(await client.generate(1));
    expect(performance.now() - began).toBeLessThan(1500);
    expect(error).toBeInstanceOf(Disconnected);
    expect((error as Error).message).toMatch(
      /NATS refused a publish to andon\.v1\.rt\.\S+ .*needs publish and subscribe on "andon\.>"/,
    );
  });
});
