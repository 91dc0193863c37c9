import {
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type Metric,
  Registry,
} from 'prom-client';
import type { SimulatedEngine } from './engine/engine.js';
import type { EngineEvent, EngineStats } from './engine/stats.js';
import { type Subscription, subscription } from './subscription.js';

/** The tier that counted a cancellation: the front end, or the engine (wherever it runs). */
export type CancellationTier = 'frontend' | 'engine';

/** Options of {@link ServerMetrics}. */
export interface ServerMetricsOptions {
  /** Register into this registry instead of a new one. */
  registry?: Registry;
  /** Also export Node's process metrics (CPU, memory, event-loop lag). Default false. */
  processMetrics?: boolean;
}

/**
 * The Prometheus metrics of the front end (and of engines running in the same process),
 * built on prom-client. `/metrics` serves {@link registry}.
 *
 * The engine series (`andon_engine_*`, `andon_cancel_to_engine_stop_seconds`) are exported
 * only once an engine is observed here (or its events recorded): a front end whose engines
 * run in worker processes leaves them out rather than exporting zeros beside busy workers;
 * they are on each worker's own `/metrics`.
 *
 * @example
 * const metrics = new ServerMetrics();
 * metrics.observeEngine(engine);            // in-process engine: its gauges and events too
 * const server = new OpenAIServer({ backend: engine, metrics });
 * console.log(await metrics.registry.metrics());
 */
export class ServerMetrics {
  readonly registry: Registry;
  /** `andon_http_requests_total{endpoint,status}`; 499 = the client went away first. */
  readonly requests: Counter<'endpoint' | 'status'>;
  /**
   * `andon_http_stream_errors_total{endpoint,code}`: streams that ended with an SSE `error`
   * event after their 200 (counted as 200 in {@link requests}, which is what the client saw).
   */
  readonly streamErrors: Counter<'endpoint' | 'code'>;
  /** `andon_http_requests_in_flight{endpoint}`. */
  readonly inFlight: Gauge<'endpoint'>;
  /** `andon_cancellations_total{tier,reason}`: reason is the kind at the root of the cause. */
  readonly cancellations: Counter<'tier' | 'reason'>;
  /** `andon_cancel_to_engine_stop_seconds{reason}`: cancel triggered (e.g. disconnect) → slot freed. */
  readonly cancelToEngineStop: Histogram<'reason'>;
  /** `andon_tokens_after_cancel_total{tier}`: tokens produced for an already cancelled request. */
  readonly tokensAfterCancel: Counter<'tier'>;
  readonly #engines = new Set<SimulatedEngine>();
  // Created with the rest, registered by #showEngineSeries() once there is an engine.
  readonly #engineSeries: Metric[] = [];
  #engineSeriesShown = false;

  constructor(options: ServerMetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    if (options.processMetrics) collectDefaultMetrics({ register: registry });
    const registers = [registry];
    const engineSeries = this.#engineSeries;
    const later = <T extends Metric>(metric: T): T => {
      engineSeries.push(metric);
      return metric;
    };
    const engines = this.#engines;
    const sumOver = (pick: (engine: SimulatedEngine) => number) => {
      let total = 0;
      for (const engine of engines) total += pick(engine);
      return total;
    };

    this.requests = new Counter({
      name: 'andon_http_requests_total',
      help: 'HTTP requests by endpoint and status (499: the client went away before the response ended)',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    this.streamErrors = new Counter({
      name: 'andon_http_stream_errors_total',
      help: 'Streams that failed after their 200 and headers, by the code of the SSE error event the client got',
      labelNames: ['endpoint', 'code'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'andon_http_requests_in_flight',
      help: 'HTTP requests being served',
      labelNames: ['endpoint'],
      registers,
    });
    this.cancellations = new Counter({
      name: 'andon_cancellations_total',
      help: 'Cancelled requests by tier and by the kind of reason at the root of the cancellation',
      labelNames: ['tier', 'reason'],
      registers,
    });
    this.cancelToEngineStop = later(
      new Histogram({
        name: 'andon_cancel_to_engine_stop_seconds',
        help: 'From the moment a cancellation was triggered (client disconnect, stop, shutdown) to the engine freeing the slot',
        labelNames: ['reason'],
        buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        registers: [],
      }),
    );
    // Engine totals live in the engines; counters follow them by the increase since the
    // last scrape, so the front end's own increments under another label are kept.
    const seenAfterCancel = new WeakMap<SimulatedEngine, number>();
    this.tokensAfterCancel = new Counter({
      name: 'andon_tokens_after_cancel_total',
      help: 'Tokens generated (engine) or received (frontend) for a request already cancelled: wasted work, should stay 0',
      labelNames: ['tier'],
      registers,
      collect() {
        // No engine here: no `engine` series (a zero would read as a measurement).
        if (engines.size === 0) return;
        this.inc(
          { tier: 'engine' },
          increase(engines, seenAfterCancel, (s) => s.tokensAfterCancel),
        );
      },
    });
    const seenGenerated = new WeakMap<SimulatedEngine, number>();
    later(
      new Counter({
        name: 'andon_engine_tokens_generated_total',
        help: 'Tokens generated by the engines in this process',
        registers: [],
        collect() {
          this.inc(increase(engines, seenGenerated, (s) => s.tokensGenerated));
        },
      }),
    );
    later(
      new Gauge({
        name: 'andon_engine_slots',
        help: 'Slots of the in-process engines',
        registers: [],
        collect() {
          this.set(sumOver((engine) => engine.slots));
        },
      }),
    );
    later(
      new Gauge({
        name: 'andon_engine_slots_busy',
        help: 'Slots decoding or prefilling',
        registers: [],
        collect() {
          this.set(sumOver((engine) => engine.stats().slotsBusy));
        },
      }),
    );
    later(
      new Gauge({
        name: 'andon_engine_sequences_parked',
        help: 'Sequences holding a slot without decoding: their readers fell behind (or paused)',
        registers: [],
        collect() {
          this.set(sumOver((engine) => engine.stats().sequencesParked));
        },
      }),
    );
    later(
      new Gauge({
        name: 'andon_engine_queue_length',
        help: 'Requests waiting for a slot',
        registers: [],
        collect() {
          this.set(sumOver((engine) => engine.stats().queueLength));
        },
      }),
    );
  }

  /**
   * Adds an engine in this process: its slots, queue and token gauges, and its
   * cancellations (tier `engine`) and stop latencies. Dispose the result to stop observing.
   */
  observeEngine(engine: SimulatedEngine): Subscription {
    this.#showEngineSeries();
    this.#engines.add(engine);
    const events = engine.on((event) => this.recordEngineEvent(event));
    return subscription(() => {
      events.dispose();
      this.#engines.delete(engine);
    });
  }

  /** Records an engine event; a worker process feeds its engine's events here. */
  recordEngineEvent(event: EngineEvent): void {
    this.#showEngineSeries();
    if (event.type !== 'cancelled') return;
    this.cancellations.inc({ tier: 'engine', reason: event.kind });
    this.cancelToEngineStop.observe({ reason: event.kind }, event.stopLatencyMs / 1000);
  }

  #showEngineSeries(): void {
    if (this.#engineSeriesShown) return;
    this.#engineSeriesShown = true;
    for (const metric of this.#engineSeries) this.registry.registerMetric(metric);
  }
}

function increase(
  engines: Iterable<SimulatedEngine>,
  seen: WeakMap<SimulatedEngine, number>,
  pick: (stats: EngineStats) => number,
): number {
  let delta = 0;
  for (const engine of engines) {
    const now = pick(engine.stats());
    delta += Math.max(0, now - (seen.get(engine) ?? 0));
    seen.set(engine, now);
  }
  return delta;
}
