import {
  type Client,
  Disconnected,
  MemoryDiscovery,
  MemoryDiscoveryHub,
  Runtime,
} from '@andon/runtime';
import OpenAI, { NotFoundError } from 'openai';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { sampleOf } from '../../../test/support/metrics.js';
import { waitFor } from '../../../test/support/wait.js';
import {
  type CompletionBackend,
  type EngineChunk,
  type EngineRequest,
  engineHandler,
  OpenAIServer,
  SimulatedEngine,
} from '../src/index.js';
import { chatBody, LogCapture, metric, startApp } from './helpers.js';

// What a load balancer, a Prometheus scrape and the openai SDK meet: /health means ready,
// engine series only where an engine runs, models.retrieve, and a stream that fails after
// its 200 logged as the 200 the client saw, with the cause beside it.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function runtime(hub: MemoryDiscoveryHub): Promise<Runtime> {
  const rt = await Runtime.start({
    transport: 'tcp',
    discovery: new MemoryDiscovery({ hub }),
    logger: pino({ level: 'silent' }),
  });
  cleanups.push(() => rt.shutdown({ graceMs: 0 }));
  return rt;
}

async function worker(hub: MemoryDiscoveryHub): Promise<Runtime> {
  const engine = new SimulatedEngine({ tokenMs: 1, prefillBaseMs: 0, prefillMsPerToken: 0 });
  cleanups.push(() => engine.close());
  const rt = await runtime(hub);
  await rt.namespace('andon').component('engine').endpoint('generate').serve(engineHandler(engine));
  return rt;
}

/** A front end on a runtime client of andon/engine/generate, as `andon serve --workers` runs. */
async function frontEnd(hub: MemoryDiscoveryHub) {
  const rt = await runtime(hub);
  const backend = (await rt
    .namespace('andon')
    .component('engine')
    .endpoint('generate')
    .client()) as Client<EngineRequest, EngineChunk>;
  const server = new OpenAIServer({ backend, logger: pino({ level: 'silent' }) });
  const url = await server.listen();
  cleanups.push(() => server.close());
  return { url, backend };
}

const probe = async (url: string) => {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('/health is ready, /live is alive', () => {
  it('a front end on runtime workers: 503 while no instance is reachable, 200 with one', async () => {
    const hub = new MemoryDiscoveryHub();
    const { url, backend } = await frontEnd(hub);
    expect(await probe(`${url}/health`)).toEqual({
      status: 503,
      body: {
        status: 'no_instances',
        instances: 0,
        message: 'no worker instance is reachable: completions would get 503 no_instances',
        in_flight: 0,
      },
    });
    expect(await probe(`${url}/live`)).toEqual({ status: 200, body: { status: 'live' } });

    const rt = await worker(hub);
    await backend.waitForInstances({ timeoutMs: 10_000 });
    expect(await probe(`${url}/health`)).toMatchObject({
      status: 200,
      body: { status: 'ok', instances: 1 },
    });

    // The last worker leaves: not ready again, while the process stays alive.
    await rt.shutdown({ graceMs: 0 });
    await waitFor(() => backend.instanceIds().length === 0, 'the worker to leave', 10_000);
    expect((await probe(`${url}/health`)).status).toBe(503);
    expect((await probe(`${url}/live`)).status).toBe(200);
  });

  it('an in-process engine is ready while the server runs', async () => {
    const app = await startApp();
    cleanups.push(() => app.close());
    expect(await probe(`${app.url}/health`)).toEqual({
      status: 200,
      body: { status: 'ok', in_flight: 0 },
    });
  });
});

describe('/metrics: engine series where an engine runs', () => {
  it('a front end without an engine in its process exports no engine series', async () => {
    const hub = new MemoryDiscoveryHub();
    await worker(hub);
    const { url, backend } = await frontEnd(hub);
    await backend.waitForInstances({ timeoutMs: 10_000 });
    const sdk = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await sdk.chat.completions.create({
      model: 'andon-sim',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 3,
    });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(
      /andon_http_requests_total\{endpoint="\/v1\/chat\/completions",status="200"\} 1/,
    );
    expect(text).not.toMatch(/andon_engine_/);
    expect(text).not.toMatch(/andon_cancel_to_engine_stop_seconds/);
    expect(text).not.toMatch(/tier="engine"/);
  });

  it('an embedded server exports them', async () => {
    const app = await startApp();
    cleanups.push(() => app.close());
    const text = await (await fetch(`${app.url}/metrics`)).text();
    expect(text).toMatch(/^andon_engine_slots 2$/m);
    expect(text).toMatch(/^andon_engine_slots_busy 0$/m);
    expect(text).toMatch(/# TYPE andon_cancel_to_engine_stop_seconds histogram/);
  });
});

describe('GET /v1/models/{id}', () => {
  it("the openai SDK's models.retrieve finds the served model, and 404s another", async () => {
    const app = await startApp();
    cleanups.push(() => app.close());
    const sdk = new OpenAI({ baseURL: `${app.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const listed = (await sdk.models.list()).data[0];
    const model = await sdk.models.retrieve('andon-sim');
    expect(model).toEqual(listed);
    expect(model).toMatchObject({ id: 'andon-sim', object: 'model', owned_by: 'andon' });

    const missing = await sdk.models.retrieve('gpt-9').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('a stream that fails after its headers', () => {
  it('is logged and counted as the 200 the client saw, with the SSE error and its cause beside it', async () => {
    const backend: CompletionBackend = {
      async generate() {
        return (async function* () {
          yield { text: 'partial', tokens: 1 };
          throw new Disconnected('the connection to worker w1 closed');
        })();
      },
    };
    const logs = new LogCapture();
    const server = new OpenAIServer({ backend, logger: logs.logger });
    const url = await server.listen();
    cleanups.push(() => server.close());

    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chatBody({ stream: true })),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/event: error\ndata: .*worker_disconnected/);

    await waitFor(
      () => logs.find((l) => l.endpoint === '/v1/chat/completions') !== undefined,
      'the access log line',
    );
    const line = logs.find((l) => l.endpoint === '/v1/chat/completions')!;
    expect(line).toMatchObject({
      msg: 'stream failed after its headers',
      status: 200,
      streamError: {
        status: 502,
        code: 'worker_disconnected',
        message: 'the worker went away: the connection to worker w1 closed',
      },
      err: { type: 'Disconnected', message: 'the connection to worker w1 closed' },
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(
      sampleOf(metrics, 'andon_http_requests_total', {
        endpoint: '/v1/chat/completions',
        status: '200',
      }),
    ).toBe(1);
    expect(
      await metric(url, 'andon_http_stream_errors_total', {
        endpoint: '/v1/chat/completions',
        code: 'worker_disconnected',
      }),
    ).toBe(1);
  });
});
