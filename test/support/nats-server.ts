/**
 * Test harness: a real nats-server, found on PATH, on a free loopback port. The one launcher
 * for every package's tests (runtime, tasks, cli).
 *
 * Every server started here is tracked; call {@link stopAllNatsServers} in `afterAll` (or
 * `afterEach`) so no process outlives the test file. A process 'exit' hook SIGKILLs any
 * that remain as a last resort.
 *
 * @example
 * const bin = natsServerBinary(); // undefined → skip (or throws when ANDON_REQUIRE_NATS=1)
 * describe.skipIf(!bin)('over nats', () => {
 *   let srv: NatsServer;
 *   beforeAll(async () => { srv = await startNatsServer({ maxPayload: 4096 }); });
 *   afterAll(() => stopAllNatsServers());
 * });
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { waitFor } from './wait.js';

export interface NatsServerOptions {
  /** Largest message payload the server accepts, in bytes (server default: 1 MiB). */
  maxPayload?: number;
  /** Require this user and password. */
  user?: string;
  password?: string;
  /** Require this token. */
  token?: string;
  /** Raw configuration appended as it is (e.g. users with permissions). */
  extraConfig?: string;
  /** Require TLS with this certificate and key; with `caFile`, require client certificates too. */
  tls?: { certFile: string; keyFile: string; caFile?: string };
  /** Use this port instead of a free one (restarts reuse the first port). */
  port?: number;
  /** How long to wait for the server to accept connections. Default 10 s. */
  readyTimeoutMs?: number;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` without credentials. */
  readonly url: string;
  /** The same address as `tls://`, which makes the client require TLS (for a `tls` server). */
  readonly tlsUrl: string;
  readonly port: number;
  /** The pid of the current process (changes after `restart`). */
  readonly pid: number;
  /** True between a successful start and `stop`/`kill`. */
  readonly running: boolean;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs` (default 3 s). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now: a crash, no goodbye to clients. */
  kill(): Promise<void>;
  /** Starts it again on the same port (stopping it first if needed). */
  restart(): Promise<void>;
  /** SIGSTOP: the server is frozen, its sockets stay open (a cut-off peer). */
  freeze(): void;
  /** SIGCONT after `freeze`. */
  thaw(): void;
  /** The last few KB of the server's log, for failure messages. */
  log(): string;
}

const INSTALL_HINT =
  'install it with `apt-get install nats-server` (Debian/Ubuntu) or from https://github.com/nats-io/nats-server/releases';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where nats-server lives, or undefined: `ANDON_NATS_SERVER` (a path, for a build other than
 * the one on PATH) if set, else the first on PATH.
 */
export function findNatsServer(env: Env = process.env): string | undefined {
  if (env.ANDON_NATS_SERVER)
    return executable(env.ANDON_NATS_SERVER) ? env.ANDON_NATS_SERVER : undefined;
  const dirs = (env.PATH ?? '').split(delimiter);
  // Debian installs to /usr/sbin, which is not on every user's PATH.
  dirs.push('/usr/sbin', '/usr/local/sbin');
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, 'nats-server');
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decides skip vs fail. Returns the binary when present. When it is missing, prints a loud
 * message and returns undefined (the caller skips), unless ANDON_REQUIRE_NATS=1, in which
 * case it throws so the suite fails.
 */
export function natsServerBinary(env: Env = process.env): string | undefined {
  const bin = findNatsServer(env);
  if (bin) return bin;
  const where = env.ANDON_NATS_SERVER ? `at ANDON_NATS_SERVER=${env.ANDON_NATS_SERVER}` : 'on PATH';
  const message = `nats-server was not found ${where}: ${INSTALL_HINT}`;
  if (env.ANDON_REQUIRE_NATS === '1') {
    throw new Error(
      `${message}. ANDON_REQUIRE_NATS=1, so the NATS tests fail instead of skipping.`,
    );
  }
  const bar = '*'.repeat(78);
  console.warn(`\n${bar}\n* SKIPPING NATS TESTS: ${message}\n${bar}\n`);
  return undefined;
}

/** The nats-server version, e.g. `2.9.10`, or undefined. */
export function natsServerVersion(bin = findNatsServer()): string | undefined {
  if (!bin) return undefined;
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /v?(\d+\.\d+\.\d+)/.exec(out)?.[1];
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('could not get a free port'));
      });
    });
  });
}

const live = new Set<ChildProcess>();
const servers = new Set<NatsServer>();

process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Stops every server this process started. Safe to call repeatedly. */
export async function stopAllNatsServers(): Promise<void> {
  await Promise.all([...servers].map((s) => s.stop()));
}

/** Starts a nats-server on 127.0.0.1 and resolves once it accepts connections. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  if (!bin) throw new Error(`nats-server was not found on PATH: ${INSTALL_HINT}`);
  const dir = mkdtempSync(join(tmpdir(), 'andon-nats-'));
  const readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  let port = options.port ?? 0;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let logTail = '';

  const launch = async (): Promise<void> => {
    // The free port can be taken between our probe and the server's bind; retry a few.
    for (let attempt = 0; ; attempt++) {
      const tryPort = port || (await freePort());
      mkdirSync(dir, { recursive: true });
      const conf = join(dir, 'nats.conf');
      writeFileSync(conf, configText(tryPort, options));
      const proc = spawn(bin, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
      live.add(proc);
      const onData = (chunk: Buffer) => {
        logTail = (logTail + chunk.toString('utf8')).slice(-8192);
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      exited = new Promise((resolve) => {
        proc.once('exit', () => {
          live.delete(proc);
          resolve();
        });
      });
      const ok = await waitReady(tryPort, proc, exited, readyTimeoutMs);
      if (ok) {
        child = proc;
        port = tryPort;
        return;
      }
      await terminate(proc, exited, 1000);
      const bound = /address already in use/i.test(logTail);
      if (!bound || options.port || attempt >= 4) {
        throw new Error(`nats-server did not start on 127.0.0.1:${tryPort}:\n${logTail}`);
      }
    }
  };

  await launch();

  const server: NatsServer = {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get tlsUrl() {
      return `tls://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return child?.pid ?? -1;
    },
    get running() {
      return child !== undefined;
    },
    async stop(graceMs = 3000) {
      const proc = child;
      child = undefined;
      if (proc) await terminate(proc, exited, graceMs);
      servers.delete(server);
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      const proc = child;
      child = undefined;
      if (proc) await terminate(proc, exited, 0);
    },
    async restart() {
      const proc = child;
      child = undefined;
      if (proc) await terminate(proc, exited, 3000);
      servers.add(server);
      await launch();
    },
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    log() {
      return logTail;
    },
  };
  servers.add(server);
  return server;
}

function configText(port: number, o: NatsServerOptions): string {
  const lines = [`listen: "127.0.0.1:${port}"`];
  if (o.maxPayload !== undefined) lines.push(`max_payload: ${o.maxPayload}`);
  if (o.user !== undefined || o.password !== undefined) {
    lines.push(
      `authorization { user: ${JSON.stringify(o.user ?? '')}, password: ${JSON.stringify(o.password ?? '')} }`,
    );
  } else if (o.token !== undefined) {
    lines.push(`authorization { token: ${JSON.stringify(o.token)} }`);
  }
  if (o.extraConfig !== undefined) lines.push(o.extraConfig);
  if (o.tls !== undefined) {
    const { certFile, keyFile, caFile } = o.tls;
    const verify = caFile === undefined ? '' : `, ca_file: ${JSON.stringify(caFile)}, verify: true`;
    lines.push(
      `tls { cert_file: ${JSON.stringify(certFile)}, key_file: ${JSON.stringify(keyFile)}${verify} }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Polls until the server sends its INFO line; false when it exits or the bound passes. */
async function waitReady(
  port: number,
  proc: ChildProcess,
  exited: Promise<void>,
  timeoutMs: number,
): Promise<boolean> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  let ready = false;
  const readyOrGone = async () => gone || (ready = await probe(port));
  await waitFor(readyOrGone, 'nats-server to send INFO', { timeoutMs, everyMs: 25 }).catch(
    () => {},
  );
  return ready && !gone && proc.exitCode === null;
}

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 500);
    sock.once('data', (d) => done(d.toString('latin1').startsWith('INFO ')));
    sock.once('error', () => done(false));
  });
}

async function terminate(proc: ChildProcess, exited: Promise<void>, graceMs: number) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  // A frozen server ignores SIGTERM until it is continued.
  proc.kill('SIGCONT');
  proc.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => {
    timer = setTimeout(() => r('late'), graceMs);
  });
  if (graceMs > 0 && (await Promise.race([exited, late])) === 'late') proc.kill('SIGKILL');
  clearTimeout(timer);
  await exited;
}
