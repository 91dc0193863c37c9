import { fileURLToPath } from 'node:url';
import { Disconnected, Runtime, type RuntimeOptions } from '@andon/runtime';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type NatsServer,
  natsServerBinary,
  startNatsServer,
  stopAllNatsServers,
} from '../../../test/support/nats-server.js';
import { drain } from './support/drain.js';
import { HEARTBEAT_MS } from './support/peers.js';

// Test-only certificates (fixtures/tls/make.sh): a CA, a server certificate for
// 127.0.0.1 and a client certificate it signed.
const file = (name: string) => fileURLToPath(new URL(`./fixtures/tls/${name}`, import.meta.url));
const ca = file('ca.pem');
const clientCert = file('client.pem');
const clientKey = file('client-key.pem');

const bin = natsServerBinary();
const ns = 'tls';

afterAll(() => stopAllNatsServers());

describe.skipIf(!bin)('NATS over TLS', () => {
  let mutual: NatsServer; // requires TLS and a client certificate signed by the CA
  let plain: NatsServer;
  const runtimes: Runtime[] = [];
  const tlsUrl = () => mutual.url.replace('nats://', 'tls://');

  beforeAll(async () => {
    mutual = await startNatsServer({
      tls: { certFile: file('server.pem'), keyFile: file('server-key.pem'), caFile: ca },
    });
    plain = await startNatsServer();
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await Promise.all(runtimes.splice(0).map((r) => r.shutdown({ graceMs: 0 })));
  });

  async function echoBetween(options: RuntimeOptions, component: string): Promise<unknown[]> {
    const server = await Runtime.start({ ...options, heartbeatMs: HEARTBEAT_MS });
    runtimes.push(server);
    const caller = await Runtime.start({ ...options, heartbeatMs: HEARTBEAT_MS });
    runtimes.push(caller);
    await server
      .namespace(ns)
      .component(component)
      .endpoint('echo')
      .serve(async function* (request) {
        yield { echo: request };
        yield 'second';
      });
    const client = await caller.namespace(ns).component(component).endpoint('echo').client();
    await client.waitForInstances({ timeoutMs: 5000 });
    return (await drain(await client.generate('hi'))).items;
  }

  it('with natsTls files, runtimes stream to each other through a server that verifies clients', async () => {
    const items = await echoBetween(
      {
        transport: 'nats',
        natsUrl: tlsUrl(),
        natsTls: { caFile: ca, certFile: clientCert, keyFile: clientKey },
      },
      'options',
    );
    expect(items).toEqual([{ echo: 'hi' }, 'second']);
  });

  it('the files can come from NATS_CA, NATS_CERT and NATS_KEY, as for the nats CLI', async () => {
    vi.stubEnv('NATS_CA', ca);
    vi.stubEnv('NATS_CERT', clientCert);
    vi.stubEnv('NATS_KEY', clientKey);
    const items = await echoBetween({ transport: 'nats', natsUrl: mutual.url }, 'env');
    expect(items).toEqual([{ echo: 'hi' }, 'second']);
  });

  it('a server certificate nobody trusts fails the start with Disconnected, saying why', async () => {
    const error = await Runtime.start({
      transport: 'nats',
      natsUrl: tlsUrl(),
      natsTls: {}, // the system's CAs, which never signed the test CA
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Disconnected);
    expect((error as Error).message).toMatch(/cannot connect to NATS at tls:\/\/127\.0\.0\.1/);
    expect((error as Error).message).toMatch(/certificate/i);
  });

  it('a server that verifies clients refuses a runtime without a client certificate', async () => {
    const error = await Runtime.start({
      transport: 'nats',
      natsUrl: tlsUrl(),
      natsTls: { caFile: ca },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Disconnected);
    expect((error as Error).message).toMatch(
      /cannot connect to NATS at tls:\/\/127\.0\.0\.1:\d+ .*the server may require a client certificate \(natsTls\.certFile and keyFile, or NATS_CERT and NATS_KEY\)/,
    );
  });

  it('a tls:// URL never falls back to plain text: a server without TLS is refused', async () => {
    const error = await Runtime.start({
      transport: 'nats',
      natsUrl: plain.url.replace('nats://', 'tls://'),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Disconnected);
    expect((error as Error).message).toMatch(/tls/);
  });

  it('bad TLS options are TypeErrors naming the option or variable, before anything connects', async () => {
    const start = (options: RuntimeOptions) =>
      Runtime.start({ transport: 'nats', natsUrl: mutual.url, ...options });
    await expect(start({ natsTls: { ca } as never })).rejects.toThrow(
      /options\.natsTls\.ca is not an option; use caFile, certFile and\/or keyFile/,
    );
    await expect(start({ natsTls: { certFile: clientCert } })).rejects.toThrow(
      /options\.natsTls\.certFile needs options\.natsTls\.keyFile \(or NATS_KEY\)/,
    );
    await expect(start({ natsTls: { caFile: `${ca}.missing` } })).rejects.toThrow(
      /options\.natsTls\.caFile: cannot read .*ca\.pem\.missing \(ENOENT\)/,
    );
    await expect(start({ natsTls: 'yes' as never })).rejects.toThrow(TypeError);
    vi.stubEnv('NATS_CA', '/nonexistent/ca.pem');
    await expect(start({})).rejects.toThrow(/NATS_CA: cannot read \/nonexistent\/ca\.pem/);
  });
});
