import { type Clock, Context } from '@andon/context';
import type { EndpointKey, Instance, Watcher } from './discovery/discovery.js';
import { endpointPath } from './discovery/discovery.js';
import { Disconnected, NoInstances } from './errors.js';
import type { CallerConnection } from './session/caller.js';
import { ResponseStream } from './session/response-stream.js';

/** Options of one call. */
export interface CallOptions {
  /** The caller's context: the call runs under a child of it, so its stop reaches the callee. */
  context?: Context;
  /** Absolute deadline, epoch ms (the earlier of this, `timeoutMs` and the context's wins). */
  deadline?: number;
  /** Relative deadline, ms from now. */
  timeoutMs?: number;
  /** Free-form string headers carried to the handler's side. */
  headers?: Record<string, string>;
  /**
   * Items this call accepts ahead of its consumer (its credit window), instead of the
   * runtime's `window`. A small one keeps a consumer that stops reading (a paused reader)
   * from letting the callee run far ahead: it stops within this many items.
   *
   * @example
   * const stream = await client.generate(request, { context, window: 8 });
   */
  window?: number;
}

// The protocol's ceiling on outstanding credit (docs/PROTOCOL.md, REQUEST `credit`).
const MAX_WINDOW = 65_536;

/** Options of {@link Client.waitForInstances}. */
export interface WaitOptions {
  /** Give up after this long with NoInstances. Default 10 000 ms. */
  timeoutMs?: number;
  /** How many instances to wait for. Default 1. */
  count?: number;
}

/** @internal What a client needs from its runtime. */
export interface ClientHost {
  readonly transportName: string;
  readonly window: number;
  readonly propagate: boolean;
  /** How long an instance that refused a connection is passed over. */
  readonly heartbeatMs: number;
  /** Measures how long an instance is passed over (the runtime's `clock`). */
  readonly clock: Clock;
  /** The clock of the contexts calls make for themselves, when the runtime was given one. */
  readonly contextClock: Clock | undefined;
  connect(instance: Instance): Promise<CallerConnection>;
  clientClosed(client: Client): void;
}

/**
 * Calls one endpoint. Routes round-robin by default; `random` and `direct` as named.
 *
 * @example
 * const client = await rt.namespace('demo').component('server').endpoint('generate').client();
 * await client.waitForInstances();
 * const stream = await client.generate({ prompt: 'hello' }, { context: ctx });
 * for await (const item of stream) console.log(item);
 */
export class Client<Req = unknown, Item = unknown> {
  #next = 0;
  // Instances that refused a connection lately, until when (on the host's clock).
  readonly #refused = new Map<string, number>();
  #closed = false;
  readonly #inFlight = new Map<string, Set<ResponseStream<unknown>>>();
  readonly #waiters = new Set<() => void>();
  #watcher: Watcher | undefined;

  /** @internal */
  constructor(
    private readonly host: ClientHost,
    readonly key: EndpointKey,
  ) {}

  /** @internal Receives the discovery watcher once it is set up. */
  attach(watcher: Watcher): void {
    this.#watcher = watcher;
  }

  /** @internal An instance joined: wake waiters. */
  instanceAdded(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * @internal An instance left discovery. Its in-flight calls fail at once with
   * Disconnected, unless the runtime knows they are fine (`keepCalls`): the instance
   * announced a graceful drain (GOAWAY), or its lease lapsed while its connection is
   * still bringing frames, which a busy instance's late renewal can cause.
   */
  instanceRemoved(instance: Instance, why: 'left' | 'expired', keepCalls: boolean): void {
    if (keepCalls) return;
    const calls = this.#inFlight.get(instance.instanceId);
    if (!calls) return;
    this.#inFlight.delete(instance.instanceId);
    const error = new Disconnected(
      `instance ${instance.instanceId} of ${endpointPath(this.key)} ${why === 'expired' ? 'stopped renewing its lease' : 'left discovery'}`,
      { tier: endpointPath(this.key) },
    );
    for (const stream of calls) stream.abandon(error);
  }

  /** The instances serving this endpoint now. */
  get instances(): readonly Instance[] {
    const all = this.#watcher?.instances ?? [];
    return all.filter((instance) => instance.transport === this.host.transportName);
  }

  /** Instance ids serving this endpoint now. */
  instanceIds(): string[] {
    return this.instances.map((instance) => instance.instanceId);
  }

  /** Resolves when at least `count` instances serve the endpoint; NoInstances on timeout. */
  waitForInstances(options: WaitOptions = {}): Promise<readonly Instance[]> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const count = options.count ?? 1;
    if (!(timeoutMs >= 0) || !Number.isInteger(count) || count < 1) {
      return Promise.reject(
        new TypeError('waitForInstances: timeoutMs must be >= 0 and count a positive integer'),
      );
    }
    if (this.instances.length >= count) return Promise.resolve(this.instances);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.instances.length < count && !this.#closed) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (this.#closed)
          reject(new NoInstances('the client was closed while waiting for instances'));
        else resolve(this.instances);
      };
      // A real timer, and one that keeps the process alive: a script whose only business is
      // this wait must not exit before it ends.
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new NoInstances(
            `no ${count > 1 ? `${count} instances` : 'instance'} of ${endpointPath(this.key)} appeared within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Calls the endpoint, routing round-robin. */
  generate(request: Req, options: CallOptions = {}): Promise<ResponseStream<Item>> {
    return this.roundRobin(request, options);
  }

  /** Calls the next instance in turn. */
  roundRobin(request: Req, options: CallOptions = {}): Promise<ResponseStream<Item>> {
    return this.#call(request, options, (instances) => instances[this.#next++ % instances.length]);
  }

  /** Calls an instance chosen at random. */
  random(request: Req, options: CallOptions = {}): Promise<ResponseStream<Item>> {
    return this.#call(
      request,
      options,
      (instances) => instances[Math.floor(Math.random() * instances.length)],
    );
  }

  /** Calls the named instance; NoInstances if it does not serve this endpoint. */
  direct(
    request: Req,
    instanceId: string,
    options: CallOptions = {},
  ): Promise<ResponseStream<Item>> {
    if (typeof instanceId !== 'string') {
      return Promise.reject(
        new TypeError(
          `direct(request, instanceId): instanceId must be a string, got ${typeof instanceId}`,
        ),
      );
    }
    return this.#call(
      request,
      options,
      (instances) => instances.find((i) => i.instanceId === instanceId),
      instanceId,
    );
  }

  /** Stops watching discovery. Calls in flight are not affected. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    this.host.clientClosed(this);
    for (const wake of [...this.#waiters]) wake();
  }

  async #call(
    request: Req,
    options: CallOptions,
    pick: (instances: readonly Instance[]) => Instance | undefined,
    wanted?: string,
  ): Promise<ResponseStream<Item>> {
    const window = callWindow(options, this.host.window);
    const context = callContext(options, this.host.contextClock);
    if (context.isStopped()) return new ResponseStream<Item>(context, window, undefined);

    try {
      if (this.#closed) throw new NoInstances(`the client of ${endpointPath(this.key)} is closed`);
      const { instance, connection } = await this.#connect(pick, wanted);
      const endpoint = endpointPath(this.key);
      const headers = options.headers;
      const stream = new ResponseStream<Item>(context, window, (s) => {
        const remaining = context.remainingMs();
        const id = connection.open(
          s as ResponseStream<unknown>,
          {
            endpoint,
            id: context.id,
            ...(Number.isFinite(remaining) ? { budgetMs: Math.floor(remaining) } : {}),
            ...(headers ? { headers } : {}),
          },
          request,
        );
        s.attach(connection, id, this.host.propagate);
        this.#track(instance.instanceId, s as ResponseStream<unknown>);
      });
      return stream;
    } catch (error) {
      context.dispose();
      throw error;
    }
  }

  /**
   * Connects to the instance `pick` chooses. A request that never reached an instance (it
   * refused the connection: it died and discovery has not caught up yet) is not lost: the
   * next one is tried, and that instance is passed over by this client's calls for a
   * heartbeat interval. A call to one named instance (`wanted`) is not moved.
   */
  async #connect(
    pick: (instances: readonly Instance[]) => Instance | undefined,
    wanted: string | undefined,
  ): Promise<{ instance: Instance; connection: CallerConnection }> {
    const tried = new Set<string>();
    let refusal: unknown;
    for (;;) {
      const now = this.host.clock.now();
      const candidates =
        wanted !== undefined
          ? this.instances
          : this.instances.filter(
              (i) => !tried.has(i.instanceId) && !((this.#refused.get(i.instanceId) ?? 0) > now),
            );
      const instance = pick(candidates.length > 0 || tried.size > 0 ? candidates : this.instances);
      if (instance === undefined) {
        if (refusal !== undefined) throw refusal;
        throw new NoInstances(
          wanted === undefined
            ? `no instance serves ${endpointPath(this.key)}`
            : `instance ${wanted} does not serve ${endpointPath(this.key)}`,
        );
      }
      try {
        return { instance, connection: await this.host.connect(instance) };
      } catch (error) {
        if (wanted !== undefined || !(error instanceof Disconnected)) throw error;
        tried.add(instance.instanceId);
        for (const [id, until] of this.#refused) if (until <= now) this.#refused.delete(id);
        this.#refused.set(instance.instanceId, now + this.host.heartbeatMs);
        refusal = error;
      }
    }
  }

  #track(instanceId: string, stream: ResponseStream<unknown>): void {
    let calls = this.#inFlight.get(instanceId);
    if (!calls) {
      calls = new Set();
      this.#inFlight.set(instanceId, calls);
    }
    calls.add(stream);
    const set = calls;
    stream.context.defer(() => {
      set.delete(stream);
      if (set.size === 0 && this.#inFlight.get(instanceId) === set)
        this.#inFlight.delete(instanceId);
    });
  }
}

function callContext(options: CallOptions, clock: Clock | undefined): Context {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('call options must be an object');
  }
  const { context, deadline, timeoutMs } = options;
  if (context !== undefined && !(context instanceof Context)) {
    throw new TypeError('options.context must be a Context from @andon/context');
  }
  const limits = {
    ...(deadline === undefined ? {} : { deadline }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
  if (context === undefined)
    return new Context(clock === undefined ? limits : { ...limits, clock });
  if (context.disposed)
    throw new TypeError('options.context is disposed: that request has already finished');
  return context.child(limits);
}

function callWindow(options: CallOptions, fallback: number): number {
  const window = options?.window;
  if (window === undefined) return fallback;
  if (!Number.isSafeInteger(window) || window < 1 || window > MAX_WINDOW) {
    throw new RangeError(
      `options.window must be an integer from 1 to ${MAX_WINDOW}, got ${window}`,
    );
  }
  return window;
}
