import { Disconnected, Runtime } from '@andon/runtime';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type NatsServer,
  natsServerBinary,
  startNatsServer,
  stopAllNatsServers,
} from '../../../test/support/nats-server.js';
import { waitFor } from '../../../test/support/wait.js';
import { drain } from './support/drain.js';

// The least-privilege permissions of docs/nats-discovery.md (Permissions per role), verbatim: a front end (a
// caller), a worker (a responder), and an outsider with rights elsewhere only.
const FRONTEND = `{
  publish: ["andon.v1.rt.>", "andon.v1.rc.>", "andon.v1.probe.>",
            "andon.discovery.v1.query.>", "andon.discovery.v1.probe.>"]
  subscribe: ["andon.v1.in.>", "andon.v1.probe.>",
              "andon.discovery.v1.ann.>", "andon.discovery.v1.inbox.>", "andon.discovery.v1.probe.>"]
}`;
const WORKER = `{
  publish: ["andon.v1.in.>", "andon.v1.probe.>",
            "andon.discovery.v1.ann.>", "andon.discovery.v1.inbox.>", "andon.discovery.v1.probe.>"]
  subscribe: ["andon.v1.rt.>", "andon.v1.rc.>", "andon.v1.probe.>",
              "andon.discovery.v1.query.>", "andon.discovery.v1.probe.>"]
}`;
const USERS = `authorization {
  users: [
    { user: "frontend", password: "pw", permissions: ${FRONTEND} }
    { user: "worker", password: "pw", permissions: ${WORKER} }
    { user: "outsider", password: "pw", permissions: { publish: ["other.>"], subscribe: ["other.>"] } }
    { user: "admin", password: "pw" }
  ]
}`;

const bin = natsServerBinary();
const KEY = { namespace: 'roles', component: 'server', endpoint: 'echo' } as const;

describe.skipIf(!bin)('NATS permissions per role', () => {
  let server: NatsServer;
  const runtimes: Runtime[] = [];
  const connections: NatsConnection[] = [];
  const url = (user: string) => server.url.replace('nats://', `nats://${user}:pw@`);
  const start = async (user: string) => {
    const rt = await Runtime.start({ transport: 'nats', discovery: 'nats', natsUrl: url(user) });
    runtimes.push(rt);
    return rt;
  };
  const raw = async (user: string) => {
    const nc = await connect({ servers: server.url, user, pass: 'pw' });
    connections.push(nc);
    return nc;
  };
  const endpoint = (rt: Runtime) =>
    rt.namespace(KEY.namespace).component(KEY.component).endpoint(KEY.endpoint);

  beforeAll(async () => {
    server = await startNatsServer({ extraConfig: USERS });
  });
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((rt) => rt.shutdown({ graceMs: 0 })));
    await Promise.all(connections.splice(0).map((nc) => nc.close()));
  });
  afterAll(() => stopAllNatsServers());

  it('a worker and a front end work with only their own permissions, and neither can do the other’s part', async () => {
    await endpoint(await start('worker')).serve(async (request: unknown) => `echo:${request}`);
    const front = await start('frontend');
    const client = await endpoint(front).client();
    await client.waitForInstances({ timeoutMs: 5000 });
    expect((await drain(await client.generate('hi'))).items).toEqual(['echo:hi']);
    // A front end cannot serve (announce itself, take requests).
    await expect(endpoint(front).serve(async () => 'fake')).rejects.toBeInstanceOf(Disconnected);
  });

  it('a client without the permissions reads no prompt and cannot announce an instance', async () => {
    await endpoint(await start('worker')).serve(async (request: unknown) => `echo:${request}`);
    // An administrator records one real announcement, to forge it below.
    const admin = await raw('admin');
    const announcements: Uint8Array[] = [];
    admin.subscribe('andon.discovery.v1.ann.>', {
      callback: (_e, m) => {
        announcements.push(m.data);
      },
    });
    await waitFor(() => announcements.length > 0, 'an announcement', 5000);
    const real = new TextDecoder().decode(announcements[0]);

    const outsider = await raw('outsider');
    const read: string[] = [];
    const refused: string[] = [];
    for (const subject of ['andon.v1.rt.>', 'andon.v1.rc.>', 'andon.discovery.v1.ann.>'])
      outsider.subscribe(subject, {
        callback: (error, m) => {
          if (error) refused.push(error.message);
          else read.push(m.subject);
        },
      });
    const front = await start('frontend');
    const client = await endpoint(front).client();
    await client.waitForInstances({ timeoutMs: 5000 });
    for (let i = 0; i < 5; i++) await drain(await client.generate(`secret prompt ${i}`));

    const id = client.instances[0]!.instanceId;
    const forge = (as: string) => real.replaceAll(id, as);
    // The server handles the outsider's publish before its flush returns: had it been let
    // through, the watcher would get it before the administrator's below.
    outsider.publish('andon.discovery.v1.ann.roles.server.echo', forge('forged-by-outsider'));
    await outsider.flush();
    // The same forgery from a user who may announce is taken: the forgery is well formed.
    admin.publish('andon.discovery.v1.ann.roles.server.echo', forge('forged-by-admin'));
    await admin.flush();
    await waitFor(
      () => client.instances.some((i) => i.instanceId === 'forged-by-admin'),
      'the administrator’s forged announcement seen',
      5000,
    );
    expect(client.instances.map((i) => i.instanceId)).not.toContain('forged-by-outsider');
    expect(read).toEqual([]);
    expect(refused.join('\n')).toMatch(/permissions violation/i);
  });
});
