import type { StopKind } from '@andon/context';
import type { FinishReason } from '../backend.js';

/** Where a sequence was when its request was cancelled. */
export type SequencePhase = 'queued' | 'prefill' | 'decode';

/** A snapshot of the engine's counters, from {@link SimulatedEngine.stats}. */
export interface EngineStats {
  /** Slots (sequences decoded together). */
  readonly slots: number;
  readonly slotsBusy: number;
  /** Sequences holding a slot but not decoding: their readers have not taken `maxUnreadTokens` tokens. */
  readonly sequencesParked: number;
  readonly queueLength: number;
  readonly maxQueue: number;
  readonly sequencesStarted: number;
  readonly sequencesFinished: number;
  /** Requests refused because the queue was full. */
  readonly sequencesRejected: number;
  readonly tokensGenerated: number;
  /**
   * Tokens generated for a request whose context was already stopped: wasted work. With
   * cancellation propagating this stays at 0.
   */
  readonly tokensAfterCancel: number;
  /** Cancelled sequences by the kind at the root of the reason (`disconnect`, `stop`, …). */
  readonly cancelled: Readonly<Partial<Record<StopKind, number>>>;
}

/** What {@link SimulatedEngine.on} listeners receive. */
export type EngineEvent =
  | {
      readonly type: 'cancelled';
      readonly requestId: string;
      /** The kind at the root of the cancellation reason. */
      readonly kind: StopKind;
      readonly phase: SequencePhase;
      /** From the moment the cancellation was triggered (its reason's `at`) to the slot freed. */
      readonly stopLatencyMs: number;
      readonly tokens: number;
    }
  | {
      readonly type: 'finished';
      readonly requestId: string;
      readonly finishReason: FinishReason;
      readonly tokens: number;
    };
