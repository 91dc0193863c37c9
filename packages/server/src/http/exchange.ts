import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from '@andon/context';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal.js';

/** One HTTP request being served: the raw pair, its Context and its logger. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Killed with kind `disconnect` when the client goes away, `shutdown` on close(). */
  readonly context: Context;
  readonly requestId: string;
  /** A child logger that stamps every line with the request id. */
  readonly log: Logger;
  /** Who sent it: set once the request is authenticated ({@link ANONYMOUS} without API keys). */
  principal: Principal;
  /** Set once a completion request is parsed: what the queue's dashboard lists in flight. */
  completion?: { readonly model: string; readonly stream: boolean; readonly startedAt: number };
}

/** What a handler reports for the access log line. */
export interface ExchangeSummary {
  model?: string;
  stream?: boolean;
  finishReason?: string;
  promptTokens?: number;
  completionTokens?: number;
  /**
   * It only watched a task's events: its client leaving cancels nothing, so it is not
   * counted as a cancellation.
   */
  watching?: boolean;
  /** The status the log and metrics should show when the response status cannot say it. */
  status?: number;
  error?: string;
  /**
   * A stream that failed after its 200 and headers: the error the client got as an SSE
   * `error` event. The status stays what the client saw; this says what went wrong.
   */
  streamError?: { status: number; code: string | null; message: string };
  /** The underlying error of a failure (logged with its stack under pino's `err`). */
  err?: unknown;
}
