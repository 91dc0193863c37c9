import type { KV, Kvm } from '@nats-io/kv';
import type { JetStreamNames } from './names.js';

/**
 * Which processes are alive: each renews a key in a bucket whose entries expire after
 * `livenessMs`, three times per period, so a process that dies (or is cut off) is gone
 * from the bucket at most `livenessMs` after its last renewal.
 */
export class RunnerLiveness {
  readonly livenessMs: number;
  readonly #kv: KV;
  readonly #processId: string;
  readonly #timer: ReturnType<typeof setInterval>;

  static async open(
    kvm: Kvm,
    names: JetStreamNames,
    processId: string,
    livenessMs: number,
  ): Promise<RunnerLiveness> {
    let kv: KV;
    try {
      kv = await kvm.create(names.runnersBucket, { ttl: livenessMs, history: 1 });
    } catch {
      // The bucket exists with another period: every process must use the same one.
      kv = await kvm.open(names.runnersBucket);
    }
    const { ttl } = await kv.status();
    const liveness = new RunnerLiveness(kv, processId, ttl > 0 ? ttl : livenessMs);
    await liveness.#renew();
    return liveness;
  }

  private constructor(kv: KV, processId: string, livenessMs: number) {
    this.#kv = kv;
    this.#processId = processId;
    this.livenessMs = livenessMs;
    this.#timer = setInterval(() => void this.#renew(), Math.max(50, livenessMs / 3));
    this.#timer.unref();
  }

  async isAlive(processId: string): Promise<boolean> {
    const entry = await this.#kv.get(processId);
    return entry !== null && entry.operation === 'PUT';
  }

  /** Stops renewing and says this process is gone. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#kv.delete(this.#processId).catch(() => {});
  }

  async #renew(): Promise<void> {
    try {
      await this.#kv.put(this.#processId, JSON.stringify({ pid: process.pid, at: Date.now() }));
    } catch {
      // The server is away (a restart): the next renewal tries again, within the period.
    }
  }
}
