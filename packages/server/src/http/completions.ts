import { isCancelledError } from '@andon/context';
import type { CompletionBackend, EngineChunk } from '../backend.js';
import { HttpError } from '../openai/errors.js';
import { CompletionResponses } from '../openai/responses.js';
import {
  type CompletionKind,
  type CompletionRequest,
  parseCompletionRequest,
  type RequestLimits,
} from '../openai/validate.js';
import { httpErrorFromBackend } from './backend-errors.js';
import { readJsonBody } from './body.js';
import type { Exchange, ExchangeSummary } from './exchange.js';
import type { PausedStreams, PauseGate } from './paused-streams.js';
import { pullChunks } from './pull-chunks.js';
import { requireJson } from './request-guard.js';
import { sendError, sendJson } from './respond.js';
import { SseWriter } from './sse.js';

/** What the completion endpoints need from the server. */
export interface CompletionDeps {
  readonly backend: CompletionBackend;
  readonly limits: RequestLimits;
  readonly maxBodyBytes: number;
  readonly heartbeatMs: number;
  /** Where streaming completions register, so that a pause request can reach them. */
  readonly pausable?: PausedStreams;
  /** A chunk the backend produced after the request was cancelled (for metrics). */
  onLateChunk(chunk: EngineChunk): void;
}

// Items the runtime lets a worker send ahead of this front end, per call.
const BACKEND_WINDOW = 8;

// Thrown inside the handler when the request's context stopped: the caller reports it.
class Interrupted extends Error {}

/**
 * Serves `POST /v1/chat/completions` (kind `chat`) and `POST /v1/completions` (kind `text`).
 * Every path ends the response: a normal end with the whole answer (or `[DONE]`), a bad
 * request with a 4xx, a backend failure with a 5xx or, once streaming, an SSE `error` event.
 * A cancelled request (client gone, shutdown) stops the backend through the context.
 */
export async function serveCompletion(
  kind: CompletionKind,
  exchange: Exchange,
  deps: CompletionDeps,
): Promise<ExchangeSummary> {
  const summary: ExchangeSummary = {};
  try {
    requireJson(exchange.req);
    const body = await readJsonBody(exchange.req, deps.maxBodyBytes).catch((error: unknown) => {
      if (exchange.context.isStopped()) throw new Interrupted();
      throw error;
    });
    const request = parseCompletionRequest(kind, body, deps.limits);
    summary.model = request.engine.model;
    summary.stream = request.stream;
    exchange.completion = {
      model: request.engine.model,
      stream: request.stream,
      startedAt: Date.now(),
    };
    const chunks = await startGeneration(request, exchange, deps);
    if (request.stream) {
      const gate = deps.pausable?.register(exchange.requestId, exchange.principal);
      try {
        await streamAnswer(request, chunks, exchange, summary, deps.heartbeatMs, gate);
      } finally {
        gate?.[Symbol.dispose]();
      }
    } else await sendWholeAnswer(request, chunks, exchange, summary);
  } catch (error) {
    const { context } = exchange;
    if (error instanceof Interrupted || context.isStopped()) {
      // A client that left gets nothing (its socket is gone); a shutdown is explained.
      if (context.reason?.kind === 'shutdown') {
        sendError(
          exchange.res,
          new HttpError(503, 'the server is shutting down', { code: 'shutdown' }),
        );
      }
      return summary;
    }
    const httpError = error instanceof HttpError ? error : httpErrorFromBackend(error);
    summary.error = httpError.message;
    if (httpError.status >= 500) exchange.log.error({ err: error }, 'completion failed');
    sendError(exchange.res, httpError);
  }
  return summary;
}

async function startGeneration(
  request: CompletionRequest,
  exchange: Exchange,
  deps: CompletionDeps,
): Promise<AsyncGenerator<EngineChunk, void, undefined>> {
  const { context } = exchange;
  if (context.isStopped()) throw new Interrupted();
  try {
    // A small credit window (through the runtime): a paused stream holds the worker back
    // within a few items instead of the runtime's default window.
    const source = await deps.backend.generate(request.engine, { context, window: BACKEND_WINDOW });
    return pullChunks(source, context, deps.onLateChunk);
  } catch (error) {
    if (context.isStopped()) throw new Interrupted();
    throw httpErrorFromBackend(error);
  }
}

async function streamAnswer(
  request: CompletionRequest,
  chunks: AsyncGenerator<EngineChunk, void, undefined>,
  exchange: Exchange,
  summary: ExchangeSummary,
  heartbeatMs: number,
  gate: PauseGate | undefined,
): Promise<void> {
  const { res, context } = exchange;
  const sse = new SseWriter(res, heartbeatMs);
  const responses = new CompletionResponses(
    request.kind,
    request.engine.model,
    request.includeUsage,
  );
  let final: EngineChunk | undefined;
  try {
    // The loop runs to the backend's own end (not `break` at the final chunk): through the
    // runtime, leaving early would read as a cancel.
    for await (const chunk of chunks) {
      // Paused: hold this chunk and pull no more (heartbeats go on; a stop ends the wait).
      await gate?.whilePaused(context);
      if (chunk.text.length > 0) await sse.send(responses.chunk(chunk.text, null));
      if (chunk.finishReason !== undefined) final = chunk;
    }
    if (final === undefined) {
      throw new HttpError(502, 'the backend stream ended before the completion finished', {
        code: 'truncated_stream',
      });
    }
  } catch (error) {
    if (!sse.opened) {
      // Nothing sent yet: the caller answers with a plain HTTP status.
      sse.abandon();
      throw error;
    }
    if (context.isStopped()) {
      // The client is gone (nothing to write) or the server is shutting down (tell it why).
      if (context.reason?.kind === 'shutdown') {
        await sse.error(
          new HttpError(503, 'the server is shutting down', { code: 'shutdown' }).toBody(),
        );
      }
      sse.end();
      return;
    }
    // The client already has its 200: the access log says so, with the error it got in the
    // stream and the cause beside it (server.ts logs the line).
    const httpError = error instanceof HttpError ? error : httpErrorFromBackend(error);
    summary.streamError = {
      status: httpError.status,
      code: httpError.code,
      message: httpError.message,
    };
    summary.err = error;
    await sse.error(httpError.toBody());
    sse.end();
    return;
  }
  await sse.send(responses.chunk('', final.finishReason!));
  if (request.includeUsage) await sse.send(responses.usageChunk(final.usage!));
  sse.done();
  summary.finishReason = final.finishReason;
  summary.promptTokens = final.usage!.promptTokens;
  summary.completionTokens = final.usage!.completionTokens;
}

async function sendWholeAnswer(
  request: CompletionRequest,
  chunks: AsyncGenerator<EngineChunk, void, undefined>,
  exchange: Exchange,
  summary: ExchangeSummary,
): Promise<void> {
  let text = '';
  let final: EngineChunk | undefined;
  try {
    for await (const chunk of chunks) {
      text += chunk.text;
      if (chunk.finishReason !== undefined) final = chunk;
    }
  } catch (error) {
    if (isCancelledError(error) && exchange.context.isStopped()) throw new Interrupted();
    throw error;
  }
  if (final === undefined) {
    if (exchange.context.isStopped()) throw new Interrupted();
    throw new HttpError(502, 'the backend stream ended before the completion finished', {
      code: 'truncated_stream',
    });
  }
  const responses = new CompletionResponses(request.kind, request.engine.model);
  sendJson(exchange.res, 200, responses.complete(text, final.finishReason!, final.usage!));
  summary.finishReason = final.finishReason;
  summary.promptTokens = final.usage!.promptTokens;
  summary.completionTokens = final.usage!.completionTokens;
}
