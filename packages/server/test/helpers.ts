import { Writable } from 'node:stream';
import { pino } from 'pino';
import { sampleOf } from '../../../test/support/metrics.js';
import {
  createEmbeddedServer,
  type EmbeddedServer,
  type EmbeddedServerOptions,
} from '../src/index.js';

/** Log lines captured from a server's pino logger. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly logger = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        callback();
      },
    }),
  );

  find(predicate: (line: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.lines.find(predicate);
  }
}

export interface TestApp extends EmbeddedServer {
  url: string;
  logs: LogCapture;
}

/** An embedded server with small timings on 127.0.0.1, a free port and captured logs. */
export async function startApp(options: EmbeddedServerOptions = {}): Promise<TestApp> {
  const logs = new LogCapture();
  const app = createEmbeddedServer({
    logger: logs.logger,
    ...options,
    engine: {
      slots: 2,
      maxQueue: 8,
      tokenMs: 5,
      prefillBaseMs: 1,
      prefillMsPerToken: 0,
      ...options.engine,
    },
  });
  const url = await app.listen();
  return Object.assign(app, { url, logs });
}

/** Reads one sample from `/metrics` (0 when the series does not exist yet). */
export async function metric(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return sampleOf(text, name, labels);
}

export const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: 'andon-sim',
  messages: [{ role: 'user', content: 'Tell me about cancellation.' }],
  ...extra,
});
