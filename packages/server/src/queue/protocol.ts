// The messages of the request queue's WebSocket (docs/QUEUE.md), and the one place that
// turns a text frame into a typed client message or says what is wrong with it.

/**
 * Which part of a request an `interrupt` stops; it names the word of the answer.
 *
 * @example
 * // { type: 'interrupt', request_id: 'r1', context: 'analysis' } is answered with
 * // { type: 'error', request_id: 'r1', error: 'Analysis interrupted by user', context: 'analysis' }
 */
export type InterruptContext = 'analysis' | 'generation';

/**
 * A message a client sends over `/v1/ws` (docs/QUEUE.md).
 *
 * @example
 * import WebSocket from 'ws';
 * const ws = new WebSocket('ws://127.0.0.1:8000/v1/ws');
 * const send = (message: QueueClientMessage) => ws.send(JSON.stringify(message));
 * ws.on('open', () => send({ type: 'submit', kind: 'demo/Count', input: { n: 3 }, request_id: 'r1' }));
 * // later: send({ type: 'interrupt', request_id: 'r1', context: 'analysis' });
 */
export type QueueClientMessage =
  | { readonly type: 'auth'; readonly api_key: string }
  | {
      readonly type: 'submit';
      readonly kind: string;
      readonly input: unknown;
      readonly request_id?: string;
    }
  | { readonly type: 'cancel_request'; readonly request_id: string }
  | { readonly type: 'interrupt'; readonly request_id: string; readonly context: InterruptContext }
  | { readonly type: 'status'; readonly request_ids?: readonly string[] }
  | { readonly type: 'watch_dashboard' };

/** The message types a client may send. */
export const CLIENT_MESSAGE_TYPES = [
  'auth',
  'submit',
  'cancel_request',
  'interrupt',
  'status',
  'watch_dashboard',
] as const;

/**
 * A request as the queue shows it (times are ISO 8601, like the task API's), in the
 * `requests` answer to `status`.
 *
 * @example
 * // { request_id: 'r1', kind: 'demo/Count', status: 'running', created_at: '2026-…Z',
 * //   started_at: '2026-…Z', last_seq: 2 }
 */
export interface RequestState {
  request_id: string;
  kind: string;
  status: string;
  /** While queued: its place in its kind's queue, 1 = next. */
  position?: number;
  created_at: string;
  started_at?: string;
  finished_at?: string;
  final_value?: unknown;
  error?: string;
  reason?: unknown;
  last_seq: number;
}

/**
 * A request in the `dashboard` message: its state, who owns it and its latest event's data.
 *
 * @example
 * // { request_id: 'r1', kind: 'demo/Count', status: 'running', owner: 'alice',
 * //   progress: { step: 2, of: 3 }, created_at: '…', last_seq: 2 }
 */
export interface DashboardRow extends RequestState {
  owner: string | null;
  progress: unknown;
}

/**
 * An OpenAI completion being served, as the `dashboard` message lists it.
 *
 * @example
 * // { request_id: 'req-…', model: 'andon-sim', stream: true, started_at: '…', owner: 'alice' }
 */
export interface CompletionRow {
  request_id: string;
  model: string;
  stream: boolean;
  started_at: string;
  owner: string;
}

/**
 * A message the server sends over `/v1/ws` (docs/QUEUE.md).
 *
 * @example
 * ws.on('message', (data) => {
 *   const message = JSON.parse(String(data)) as QueueServerMessage;
 *   if (message.type === 'queued') console.log(`${message.request_id} at ${message.position}`);
 *   if (message.type === 'result') console.log(message.request_id, message.status);
 * });
 */
export type QueueServerMessage =
  | { type: 'authenticated'; user: string; admin: boolean }
  | { type: 'queued'; request_id: string; kind: string; position: number }
  | { type: 'request_cancelled'; request_id: string }
  | { type: 'error'; request_id?: string; error: string; context?: InterruptContext }
  | { type: 'requests'; requests: RequestState[] }
  | { type: 'queue_update'; queue_size: number; processing: number; queued_ids: string[] }
  | { type: 'status'; request_id: string; status: 'running' }
  | { type: 'progress'; request_id: string; seq: number; event: string; data: unknown }
  | {
      type: 'result';
      request_id: string;
      status: string;
      final_value?: unknown;
      error?: string;
      reason?: unknown;
    }
  | {
      type: 'dashboard';
      at: string;
      queue_size: number;
      processing: number;
      queued: DashboardRow[];
      running: DashboardRow[];
      finished: DashboardRow[];
      completions: CompletionRow[];
      slots: { busy: number; total: number } | null;
      cancellations_per_second: number;
    };

/** What is wrong with a client message; answered with an `error` message, the socket stays open. */
export class ProtocolError extends Error {
  /** The request the message was about, when it named one. */
  readonly requestId: string | undefined;
  constructor(message: string, requestId?: string) {
    super(message);
    this.name = 'ProtocolError';
    this.requestId = requestId;
  }
}

/**
 * Parses one text frame into a client message.
 *
 * @throws ProtocolError saying what is wrong: not JSON, not an object, no or an unknown
 *   `type`, a missing or mistyped field (with the message's `request_id` when it has one).
 */
export function parseClientMessage(text: string): QueueClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError(`the message is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProtocolError('a message must be a JSON object with a "type"');
  }
  const fields = value as Record<string, unknown>;
  const requestId = typeof fields.request_id === 'string' ? fields.request_id : undefined;
  const { type } = fields;
  const need = (name: string, what: string): never => {
    throw new ProtocolError(`${String(type)} needs "${name}" (${what})`, requestId);
  };
  switch (type) {
    case 'auth':
      if (typeof fields.api_key !== 'string' || fields.api_key === '') need('api_key', 'a string');
      return { type, api_key: fields.api_key as string };
    case 'submit': {
      if (typeof fields.kind !== 'string' || !/^[^/]+\/[^/]+$/.test(fields.kind)) {
        need('kind', 'a string "app/model", such as "demo/Count"');
      }
      if (!('input' in fields)) need('input', 'the task input, any JSON value');
      if (fields.request_id !== undefined && requestId === undefined) {
        need('request_id', 'a string, or no request_id for one the server picks');
      }
      return {
        type,
        kind: fields.kind as string,
        input: fields.input,
        ...(requestId === undefined ? {} : { request_id: requestId }),
      };
    }
    case 'cancel_request':
      if (requestId === undefined) need('request_id', 'a string');
      return { type, request_id: requestId! };
    case 'interrupt':
      if (requestId === undefined) need('request_id', 'a string');
      if (fields.context !== 'analysis' && fields.context !== 'generation') {
        need('context', '"analysis" or "generation"');
      }
      return { type, request_id: requestId!, context: fields.context as InterruptContext };
    case 'status': {
      const ids = fields.request_ids;
      if (ids === undefined) return { type };
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
        need('request_ids', 'an array of strings, or none for all your requests');
      }
      return { type, request_ids: ids as string[] };
    }
    case 'watch_dashboard':
      return { type };
    default:
      throw new ProtocolError(
        typeof type === 'string'
          ? `unknown message type ${JSON.stringify(type)}; expected one of ${CLIENT_MESSAGE_TYPES.join(', ')}`
          : 'a message must have a "type" (a string)',
        requestId,
      );
  }
}
