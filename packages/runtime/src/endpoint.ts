import type { Client } from './client.js';
import { checkName, type EndpointKey, endpointPath, type Instance } from './discovery/discovery.js';
import type { Runtime } from './runtime.js';
import type { Handler } from './session/handler.js';

/** Served endpoint handle returned by {@link Endpoint.serve}. */
export interface ServedEndpoint {
  /** What discovery publishes for this endpoint. */
  readonly instance: Instance;
  /** Leaves discovery and stops taking new requests; in-flight ones go on. */
  stop(): Promise<void>;
}

/** A namespace: groups components. */
export class Namespace {
  /** @internal */
  constructor(
    private readonly runtime: Runtime,
    readonly name: string,
  ) {}

  component(name: string): Component {
    return new Component(this.runtime, this.name, checkName('component', name));
  }
}

/** A component: one kind of service (a server, a router, a worker). */
export class Component {
  /** @internal */
  constructor(
    private readonly runtime: Runtime,
    readonly namespace: string,
    readonly name: string,
  ) {}

  /** An endpoint; the type parameters describe its requests and items. */
  endpoint<Req = unknown, Item = unknown>(name: string): Endpoint<Req, Item> {
    return new Endpoint<Req, Item>(this.runtime, {
      namespace: this.namespace,
      component: this.name,
      endpoint: checkName('endpoint', name),
    });
  }
}

/** An endpoint: something to serve, or to call. */
export class Endpoint<Req = unknown, Item = unknown> {
  /** @internal */
  constructor(
    private readonly runtime: Runtime,
    readonly key: EndpointKey,
  ) {}

  /** `namespace/component/endpoint`. */
  get path(): string {
    return endpointPath(this.key);
  }

  /**
   * Serves this endpoint from this runtime and publishes it in discovery. The handler gets
   * the request and its incoming Context (stop, kill and the caller's deadline arrive on
   * it) and returns an async iterable (a stream) or a value or promise (one response).
   */
  serve(handler: Handler<Req, Item>): Promise<ServedEndpoint> {
    return this.runtime.serve(this.key, handler as Handler);
  }

  /** A client for this endpoint, watching discovery for its instances. */
  client(): Promise<Client<Req, Item>> {
    return this.runtime.client<Req, Item>(this.key);
  }
}
