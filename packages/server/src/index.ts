/**
 * @andon/server: an OpenAI-compatible HTTP/SSE front end whose cancellations reach the
 * workers, and a simulated LLM engine to put behind it.
 *
 * @example
 * import { createEmbeddedServer } from '@andon/server';
 * const app = createEmbeddedServer();
 * const url = await app.listen();
 * // point the openai SDK at `${url}/v1`; abort a stream and watch /metrics:
 * // andon_cancellations_total{tier="engine",reason="disconnect"} goes up, the slot frees.
 * await app.close();
 *
 * @packageDocumentation
 */

export { ApiKeys } from './auth/api-keys.js';
export { ANONYMOUS, mayAccess, type Principal } from './auth/principal.js';
export type {
  CompletionBackend,
  EngineChunk,
  EngineRequest,
  EngineUsage,
  FinishReason,
  GenerateOptions,
} from './backend.js';
export {
  createEmbeddedServer,
  type EmbeddedServer,
  type EmbeddedServerOptions,
} from './embedded.js';
export { SimulatedEngine, type SimulatedEngineOptions } from './engine/engine.js';
export { type ChunkGenerator, engineHandler } from './engine/engine-handler.js';
export type { EngineEvent, EngineStats, SequencePhase } from './engine/stats.js';
export { assertEngineRequest, type EngineLimits } from './engine/validate-request.js';
export { OpenAIServer, type OpenAIServerOptions } from './http/server.js';
export { type CancellationTier, ServerMetrics, type ServerMetricsOptions } from './metrics.js';
export { HttpError, type OpenAIErrorBody, type OpenAIErrorType } from './openai/errors.js';
export type * from './openai/types.js';
export {
  type CompletionKind,
  type CompletionRequest,
  parseCompletionRequest,
  type RequestLimits,
} from './openai/validate.js';
export type {
  CompletionRow,
  DashboardRow,
  InterruptContext,
  QueueClientMessage,
  QueueServerMessage,
  RequestState,
} from './queue/protocol.js';
export type { QueueSocketOptions } from './queue/queue-options.js';
export type { Subscription } from './subscription.js';
export {
  type BuiltinKindsOptions,
  type CompleteInput,
  type CompleteResult,
  type CountInput,
  defineBuiltinKinds,
  type FetchInput,
  type FetchResult,
} from './tasks/kinds/index.js';
export { type TaskJson, taskJson } from './tasks/task-json.js';
