import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MemoryDiscovery,
  MemoryDiscoveryHub,
  type MemoryTransport,
  Runtime,
  type RuntimeOptions,
} from '@andon/runtime';
// @ts-expect-error: a plain ESM fixture shared with child processes
import { startRole } from '../fixtures/peer-roles.mjs';

export type PeerEvent = { type: string; [key: string]: unknown };
export type Role = 'server' | 'middle' | 'caller';

/** A tier running elsewhere: a child process (tcp, nats) or an in-process runtime (memory). */
export interface Peer {
  readonly events: PeerEvent[];
  readonly instanceId: string;
  /** Resolves with the first event (already seen or future) matching `match`. */
  waitFor(
    match: (event: PeerEvent) => boolean,
    timeoutMs?: number,
    what?: string,
  ): Promise<PeerEvent>;
  /** Dies abruptly: SIGKILL, or every in-memory channel dropped. */
  crash(): Promise<void>;
  /** Stops answering: SIGSTOP, or in-memory delivery halted. */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

/** One isolated network per test: its own discovery, its own peers. */
export interface Network {
  readonly heartbeatMs: number;
  runtimeOptions(): RuntimeOptions;
  startPeer(role: Role, params?: Record<string, unknown>): Promise<Peer>;
  /** Starts a runtime in this process on the network (closed by `close()`). */
  runtime(): Promise<Runtime>;
  close(): Promise<void>;
}

export interface TransportFixture {
  readonly name: string;
  /** Whether peers are real processes (SIGKILL/SIGSTOP) or simulated in-process. */
  readonly processes: boolean;
  /** Why the fixture cannot run here, or undefined when it can. */
  unavailable?(): string | undefined;
  network(): Promise<Network>;
}

export const HEARTBEAT_MS = 200;

class EventLog {
  readonly events: PeerEvent[] = [];
  readonly #waiters = new Set<() => void>();

  push(event: PeerEvent): void {
    this.events.push(event);
    for (const wake of [...this.#waiters]) wake();
  }

  waitFor(
    match: (event: PeerEvent) => boolean,
    timeoutMs = 5000,
    what = 'event',
  ): Promise<PeerEvent> {
    const found = this.events.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.find(match);
        if (!hit) return;
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve(hit);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; events: ${JSON.stringify(this.events.slice(-8))}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }
}

const PEER_SCRIPT = fileURLToPath(new URL('../fixtures/peer.mjs', import.meta.url));

/** Peers in child processes, for transports that cross processes. */
export abstract class ProcessNetwork implements Network {
  readonly heartbeatMs = HEARTBEAT_MS;
  readonly #children = new Set<ChildProcess>();
  readonly #runtimes = new Set<Runtime>();

  abstract runtimeOptions(): RuntimeOptions;

  async runtime(): Promise<Runtime> {
    const rt = await Runtime.start(this.runtimeOptions());
    this.#runtimes.add(rt);
    return rt;
  }

  async startPeer(role: Role, params: Record<string, unknown> = {}): Promise<Peer> {
    const log = new EventLog();
    const child = fork(
      PEER_SCRIPT,
      [role, JSON.stringify(this.runtimeOptions()), JSON.stringify(params)],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, ANDON_LOG_LEVEL: process.env.ANDON_LOG_LEVEL ?? 'error' },
      },
    );
    this.#children.add(child);
    child.on('message', (event) => log.push(event as PeerEvent));
    child.on('exit', (code, signal) => log.push({ type: 'exit', code, signal }));
    const ready = await log.waitFor(
      (e) => e.type === 'ready' || e.type === 'fatal' || e.type === 'exit',
      15_000,
      `${role} ready`,
    );
    if (ready.type !== 'ready')
      throw new Error(`${role} peer failed to start: ${JSON.stringify(ready)}`);
    const exited = log.waitFor((e) => e.type === 'exit', 60_000).catch(() => undefined);
    return {
      events: log.events,
      instanceId: String(ready.instanceId),
      waitFor: (match, timeoutMs, what) => log.waitFor(match, timeoutMs, what),
      crash: async () => {
        child.kill('SIGKILL');
        await exited;
      },
      freeze: () => child.kill('SIGSTOP'),
      thaw: () => child.kill('SIGCONT'),
      close: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#runtimes].map((rt) => rt.shutdown({ graceMs: 0, stopGraceMs: 0 })));
    for (const child of this.#children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
    }
    this.#children.clear();
    await this.cleanup();
  }

  protected async cleanup(): Promise<void> {}
}

class TcpNetwork extends ProcessNetwork {
  readonly #dir = mkdtempSync(join(tmpdir(), 'andon-conformance-'));

  runtimeOptions(): RuntimeOptions {
    return { transport: 'tcp', discoveryDir: this.#dir, heartbeatMs: this.heartbeatMs };
  }

  protected override async cleanup(): Promise<void> {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

class MemoryNetwork implements Network {
  readonly heartbeatMs = HEARTBEAT_MS;
  readonly #hub = new MemoryDiscoveryHub();
  readonly #runtimes = new Set<Runtime>();

  runtimeOptions(): RuntimeOptions {
    return {
      transport: 'memory',
      discovery: new MemoryDiscovery({ hub: this.#hub }),
      heartbeatMs: this.heartbeatMs,
    };
  }

  async runtime(): Promise<Runtime> {
    const rt = await Runtime.start(this.runtimeOptions());
    this.#runtimes.add(rt);
    return rt;
  }

  async startPeer(role: Role, params: Record<string, unknown> = {}): Promise<Peer> {
    const log = new EventLog();
    const options = this.runtimeOptions();
    const rt: Runtime = await startRole(role, options, params, (event: PeerEvent) =>
      log.push(event),
    );
    this.#runtimes.add(rt);
    const transport = rt.transport as MemoryTransport;
    return {
      events: log.events,
      instanceId: rt.instanceId,
      waitFor: (match, timeoutMs, what) => log.waitFor(match, timeoutMs, what),
      crash: async () => {
        transport.crash();
        // A dead process's leases lapse; here they are revoked at once.
        await (options.discovery as MemoryDiscovery).close();
      },
      freeze: () => transport.freeze(),
      thaw: () => transport.thaw(),
      close: () => rt.shutdown({ graceMs: 0, stopGraceMs: 0 }),
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#runtimes].map((rt) => rt.shutdown({ graceMs: 0, stopGraceMs: 0 })));
  }
}

export const memoryFixture: TransportFixture = {
  name: 'memory',
  processes: false,
  network: async () => new MemoryNetwork(),
};

export const tcpFixture: TransportFixture = {
  name: 'tcp',
  processes: true,
  network: async () => new TcpNetwork(),
};
