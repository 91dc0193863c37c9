import {
  CancelledError,
  type CancelReason,
  type Context,
  rootCause,
  type StopKind,
} from '@andon/context';
import { Overloaded } from '@andon/runtime';
import type { CompletionBackend, EngineChunk, EngineRequest, FinishReason } from '../backend.js';
import {
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
  refuse,
} from '../option-checks.js';
import { type Subscription, subscription } from '../subscription.js';
import { preciseNow } from '../time.js';
import { OutputChannel } from './output-channel.js';
import type { EngineEvent, EngineStats, SequencePhase } from './stats.js';
import { StopStringMatcher } from './stop-strings.js';
import { countTokens, hashString, seededRandom, TextGenerator } from './text.js';
import { assertEngineRequest } from './validate-request.js';

const WHERE = 'SimulatedEngine';

/** Options of {@link SimulatedEngine}. Times are milliseconds. */
export interface SimulatedEngineOptions {
  /** Sequences decoded together. Default 4. */
  slots?: number;
  /** Requests allowed to wait for a slot; one more is refused with `Overloaded`. Default 64. */
  maxQueue?: number;
  /** Time per generated token, per sequence. Default 20. */
  tokenMs?: number;
  /** Fixed part of the prefill time. Default 5. */
  prefillBaseMs?: number;
  /** Prefill time per prompt token, so long prompts take longer to start. Default 0.1. */
  prefillMsPerToken?: number;
  /**
   * Length at which a sequence ends by itself (the model's end-of-text, finish reason
   * `stop`), drawn from the seed in this range. Default 32..512.
   */
  naturalLength?: { min: number; max: number };
  /**
   * The tier name this engine gives: the `tier` of the errors it raises and the `origin` of
   * the reasons it stops sequences with. Default `engine`.
   */
  tier?: string;
  /**
   * A sequence whose reader has not taken this many generated tokens is parked: no decode
   * steps (its slot stays taken) until the reader takes them. This is what makes a paused
   * client pause the generation: it stops reading, and at most this many tokens are decoded
   * on its behalf. Default 32.
   */
  maxUnreadTokens?: number;
}

interface Sequence {
  readonly requestId: string;
  readonly context: Context;
  readonly request: EngineRequest;
  readonly promptTokens: number;
  readonly naturalLength: number;
  readonly text: TextGenerator;
  readonly matcher: StopStringMatcher;
  readonly channel: OutputChannel;
  registration: Disposable | undefined;
  phase: SequencePhase;
  timer: ReturnType<typeof setTimeout> | undefined;
  generated: number;
  /** Tokens whose text is held back (a possible stop-string prefix), not yet counted in a chunk. */
  unsentTokens: number;
  /** Waiting for its reader to take its unread tokens: no decode step is scheduled. */
  parked: boolean;
  done: boolean;
}

/**
 * A simulated LLM inference engine: something that behaves like one, so that cancellation
 * has real work to save. A fixed number of slots decode concurrently; a bounded FIFO queue
 * waits in front of them; prefill grows with the prompt; each token takes `tokenMs`; the text
 * is deterministic from the seed (or the prompt). A stop or kill of a request's context
 * aborts its sequence at once — while queued, during prefill or between tokens — and hands
 * the slot to the next queued request.
 *
 * It implements {@link CompletionBackend}, so the HTTP front end can call it in-process; in a
 * worker, serve it on a runtime endpoint with {@link engineHandler}: `ep.serve(engineHandler(engine))`.
 *
 * @example
 * const engine = new SimulatedEngine({ slots: 2, tokenMs: 5 });
 * const ctx = new Context();
 * const stream = await engine.generate(
 *   { model: 'andon-sim', prompt: 'Hello', maxTokens: 16 }, { context: ctx });
 * for await (const chunk of stream) process.stdout.write(chunk.text);
 * engine.stats().tokensGenerated; // 16 (or fewer if the model ended first)
 */
export class SimulatedEngine implements CompletionBackend {
  readonly slots: number;
  readonly maxQueue: number;
  readonly tokenMs: number;
  readonly prefillBaseMs: number;
  readonly prefillMsPerToken: number;
  readonly naturalLength: { readonly min: number; readonly max: number };
  readonly tier: string;
  readonly maxUnreadTokens: number;

  readonly #active = new Set<Sequence>();
  // A Set keeps insertion order (FIFO) and removes a cancelled waiter in O(1).
  readonly #queue = new Set<Sequence>();
  readonly #listeners = new Set<(event: EngineEvent) => void>();
  readonly #cancelled: Partial<Record<StopKind, number>> = {};
  #started = 0;
  #finished = 0;
  #rejected = 0;
  #tokens = 0;
  #tokensAfterCancel = 0;
  #parked = 0;
  #closed = false;

  /** @throws TypeError naming an option that is not a number in its range. */
  constructor(options: SimulatedEngineOptions = {}) {
    this.slots = positiveInteger(`${WHERE}: slots`, options.slots ?? 4);
    this.maxQueue = nonNegativeInteger(`${WHERE}: maxQueue`, options.maxQueue ?? 64);
    this.tokenMs = nonNegativeNumber(`${WHERE}: tokenMs`, options.tokenMs ?? 20);
    this.prefillBaseMs = nonNegativeNumber(`${WHERE}: prefillBaseMs`, options.prefillBaseMs ?? 5);
    this.prefillMsPerToken = nonNegativeNumber(
      `${WHERE}: prefillMsPerToken`,
      options.prefillMsPerToken ?? 0.1,
    );
    const natural = options.naturalLength ?? { min: 32, max: 512 };
    const min = positiveInteger(`${WHERE}: naturalLength.min`, natural.min);
    const max = positiveInteger(`${WHERE}: naturalLength.max`, natural.max);
    if (max < min) refuse(`${WHERE}: naturalLength.max`, `>= naturalLength.min (${min})`, max);
    this.naturalLength = { min, max };
    this.tier = options.tier ?? 'engine';
    this.maxUnreadTokens = positiveInteger(
      `${WHERE}: maxUnreadTokens`,
      options.maxUnreadTokens ?? 32,
    );
  }

  /**
   * Starts generating for `request` under `options.context`, or queues it when every slot is
   * busy. Resolves with the request's chunks; the last one carries `finishReason` and `usage`.
   * Reading them throws a `CancelledError` (with the reason) if the context is stopped or
   * killed first. Leaving the loop early aborts the sequence too.
   *
   * @throws Overloaded (from `@andon/runtime`) when the queue is full or the engine is closed.
   * @throws TypeError for a malformed request.
   */
  async generate(
    request: EngineRequest,
    options: { context: Context },
  ): Promise<AsyncIterable<EngineChunk>> {
    assertEngineRequest(request);
    const context = options?.context;
    if (context === undefined)
      throw new TypeError('generate(request, { context }): context is required');
    if (this.#closed) throw new Overloaded('the engine is shut down', { tier: this.tier });
    if (context.isStopped()) {
      // Not started, so nothing to count; the reader still learns why.
      const channel = new OutputChannel(() => {});
      channel.fail(new CancelledError(context.reason!), false);
      return channel;
    }
    if (this.#active.size >= this.slots && this.#queue.size >= this.maxQueue) {
      this.#rejected++;
      throw new Overloaded(
        `the engine is at capacity: ${this.slots} slots busy and ${this.#queue.size} requests queued`,
        { tier: this.tier },
      );
    }
    const random = seededRandom(request.seed ?? hashString(request.prompt));
    const { min, max } = this.naturalLength;
    const sequence: Sequence = {
      requestId: context.id,
      context,
      request,
      promptTokens: countTokens(request.prompt),
      naturalLength: min + Math.floor(random() * (max - min + 1)),
      text: new TextGenerator(random),
      matcher: new StopStringMatcher(request.stop),
      channel: new OutputChannel(
        () => this.#abandon(sequence),
        () => this.#unpark(sequence),
      ),
      registration: undefined,
      phase: 'queued',
      timer: undefined,
      generated: 0,
      unsentTokens: 0,
      parked: false,
      done: false,
    };
    sequence.registration = context.onStop((reason) => this.#cancel(sequence, reason));
    if (this.#active.size < this.slots) this.#start(sequence);
    else this.#queue.add(sequence);
    return sequence.channel;
  }

  /** A snapshot of the counters. */
  stats(): EngineStats {
    return {
      slots: this.slots,
      slotsBusy: this.#active.size,
      sequencesParked: this.#parked,
      queueLength: this.#queue.size,
      maxQueue: this.maxQueue,
      sequencesStarted: this.#started,
      sequencesFinished: this.#finished,
      sequencesRejected: this.#rejected,
      tokensGenerated: this.#tokens,
      tokensAfterCancel: this.#tokensAfterCancel,
      cancelled: { ...this.#cancelled },
    };
  }

  /**
   * Calls `listener` for every finished or cancelled sequence (metrics use it). Dispose the
   * result to unsubscribe.
   */
  on(listener: (event: EngineEvent) => void): Subscription {
    this.#listeners.add(listener);
    return subscription(() => {
      this.#listeners.delete(listener);
    });
  }

  /**
   * Refuses new requests and aborts every queued and running sequence (reason kind
   * `shutdown`). The requests' contexts are not touched: they belong to the callers.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const reason: CancelReason = Object.freeze({
      kind: 'shutdown',
      message: 'the engine is shutting down',
      origin: this.tier,
      at: preciseNow(),
    });
    for (const sequence of [...this.#queue, ...this.#active]) this.#cancel(sequence, reason);
  }

  // ── scheduling ───────────────────────────────────────────────────────────────────

  #start(sequence: Sequence): void {
    this.#active.add(sequence);
    this.#started++;
    sequence.phase = 'prefill';
    const prefillMs = this.prefillBaseMs + this.prefillMsPerToken * sequence.promptTokens;
    sequence.timer = setTimeout(() => {
      sequence.phase = 'decode';
      this.#schedule(sequence);
    }, prefillMs);
  }

  #schedule(sequence: Sequence): void {
    sequence.timer = setTimeout(() => this.#step(sequence), this.tokenMs);
  }

  #step(sequence: Sequence): void {
    sequence.timer = undefined;
    if (sequence.done) return;
    if (sequence.context.isStopped()) {
      // Only reachable if the stop did not reach us through onStop: that token was wasted.
      this.#tokensAfterCancel++;
      this.#cancel(sequence, sequence.context.reason!);
      return;
    }
    if (sequence.generated >= sequence.naturalLength) {
      this.#finish(sequence, sequence.matcher.flush(), 'stop');
      return;
    }
    if (sequence.channel.unreadTokens >= this.maxUnreadTokens) {
      // The reader fell behind (or paused): decoding on would only fill memory for nobody.
      sequence.parked = true;
      this.#parked++;
      return;
    }
    sequence.generated++;
    sequence.unsentTokens++;
    this.#tokens++;
    const { emit, matched } = sequence.matcher.push(sequence.text.next());
    if (matched) {
      this.#finish(sequence, emit, 'stop');
    } else if (sequence.generated >= sequence.request.maxTokens) {
      this.#finish(sequence, emit + sequence.matcher.flush(), 'length');
    } else {
      if (emit.length > 0) {
        sequence.channel.push(emit, sequence.unsentTokens);
        sequence.unsentTokens = 0;
      }
      this.#schedule(sequence);
    }
  }

  #finish(sequence: Sequence, text: string, finishReason: FinishReason): void {
    this.#release(sequence);
    this.#finished++;
    sequence.channel.finish(text, sequence.unsentTokens, finishReason, {
      promptTokens: sequence.promptTokens,
      completionTokens: sequence.generated,
    });
    this.#emit({
      type: 'finished',
      requestId: sequence.requestId,
      finishReason,
      tokens: sequence.generated,
    });
  }

  #cancel(sequence: Sequence, reason: CancelReason): void {
    if (sequence.done) return;
    const phase = sequence.phase;
    this.#release(sequence);
    const root = rootCause(reason);
    this.#cancelled[root.kind] = (this.#cancelled[root.kind] ?? 0) + 1;
    // A graceful stop keeps what was generated; a kill (or shutdown) drops it.
    const keepPending = !sequence.context.isKilled() && root.kind !== 'shutdown';
    sequence.channel.fail(new CancelledError(reason), keepPending);
    this.#emit({
      type: 'cancelled',
      requestId: sequence.requestId,
      kind: root.kind,
      phase,
      stopLatencyMs: Math.max(0, preciseNow() - root.at),
      tokens: sequence.generated,
    });
  }

  // The reader took its unread tokens: a parked sequence decodes again.
  #unpark(sequence: Sequence): void {
    if (!sequence.parked) return;
    sequence.parked = false;
    this.#parked--;
    if (!sequence.done) this.#schedule(sequence);
  }

  // The reader left the loop without stopping the context (in-process use).
  #abandon(sequence: Sequence): void {
    this.#cancel(sequence, {
      kind: 'kill',
      message: 'the reader left the stream',
      origin: this.tier,
      at: preciseNow(),
    });
  }

  #release(sequence: Sequence): void {
    sequence.done = true;
    if (sequence.parked) {
      sequence.parked = false;
      this.#parked--;
    }
    if (sequence.timer !== undefined) clearTimeout(sequence.timer);
    sequence.timer = undefined;
    sequence.registration?.[Symbol.dispose]();
    sequence.registration = undefined;
    if (this.#queue.delete(sequence)) return;
    if (this.#active.delete(sequence)) this.#admitNext();
  }

  #admitNext(): void {
    while (this.#active.size < this.slots && this.#queue.size > 0) {
      const next = this.#queue.values().next().value!;
      this.#queue.delete(next);
      this.#start(next);
    }
  }

  #emit(event: EngineEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken metrics listener must not break generation.
      }
    }
  }
}
