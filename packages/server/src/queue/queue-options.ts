import { positiveNumber } from '../option-checks.js';

/**
 * Settings of the request queue's WebSocket (`GET /v1/ws`, docs/QUEUE.md). All optional;
 * the defaults are what the doc promises.
 *
 * @example
 * const server = new OpenAIServer({ backend: engine, tasks, webSocket: { authTimeoutMs: 5_000 } });
 */
export interface QueueSocketOptions {
  /** With API keys: a socket that sends no `auth` within this closes with 4401. Default 10 000. */
  authTimeoutMs?: number;
  /** `queue_update` to every socket this often (and at once on a change). Default 2 000. */
  updateIntervalMs?: number;
  /** `dashboard` to the sockets that asked for it this often. Default 1 000. */
  dashboardIntervalMs?: number;
  /** Larger messages close the socket (1009). Default 1 MiB. */
  maxMessageBytes?: number;
  /**
   * A socket whose unsent data exceeds this is closed with 1013: a client that stops
   * reading cannot make the server hold its messages without end. Default 4 MiB.
   */
  maxBufferedBytes?: number;
  /** Requests one socket follows (pushes) at once; more are refused. Default 1 000. */
  maxFollowed?: number;
}

/** {@link QueueSocketOptions} with every default filled in. */
export type QueueSettings = Required<QueueSocketOptions>;

/** Fills in the defaults and checks the values. @throws TypeError naming a bad one. */
export function queueSettings(options: QueueSocketOptions = {}): QueueSettings {
  const settings: QueueSettings = {
    authTimeoutMs: options.authTimeoutMs ?? 10_000,
    updateIntervalMs: options.updateIntervalMs ?? 2_000,
    dashboardIntervalMs: options.dashboardIntervalMs ?? 1_000,
    maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
    maxBufferedBytes: options.maxBufferedBytes ?? 4 * 1024 * 1024,
    maxFollowed: options.maxFollowed ?? 1_000,
  };
  for (const [name, value] of Object.entries(settings)) {
    positiveNumber(`OpenAIServer: webSocket.${name}`, value);
  }
  return settings;
}
