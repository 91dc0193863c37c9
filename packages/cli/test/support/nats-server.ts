import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** True when a nats-server binary is on PATH (the NATS tests skip otherwise). */
export const HAVE_NATS_SERVER = spawnSync('nats-server', ['--version']).status === 0;

/** A free TCP port on 127.0.0.1 (the OS's pick, released at once). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** PEM files for a server that requires TLS and verifies client certificates. */
export interface NatsServerTls {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/**
 * A private nats-server on a free port; resolves with its URL once it accepts clients. It is
 * a child of this test process, killed by `stop()` (call it in afterEach).
 */
export async function startNatsServer(
  tls?: NatsServerTls,
): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const tlsArgs =
    tls === undefined
      ? []
      : [
          '--tlsverify',
          '--tlscert',
          tls.certFile,
          '--tlskey',
          tls.keyFile,
          '--tlscacert',
          tls.caFile,
        ];
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), ...tlsArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ended = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('nats-server did not start in 10 s')), 10_000);
    let seen = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      seen += chunk;
      if (seen.includes('Server is ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited: ${seen}`));
    });
  });
  return {
    url: `${tls === undefined ? 'nats' : 'tls'}://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGKILL');
      await ended;
    },
  };
}
