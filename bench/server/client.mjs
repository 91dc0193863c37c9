// The client process: M closed-loop clients streaming chat completions over HTTP/SSE.
//
// Load is generated with node:http rather than the openai SDK (or fetch): on 2 shared cores
// the SDK's per-chunk work would compete with the servers being measured, and a raw request
// lets us timestamp the abort exactly where the socket is destroyed (`req.destroy()` closes
// the TCP connection, which is what a chat UI or an SDK abort does to the front end).
//
// Clients with an even index abandon every request after `abandonAfter` content chunks;
// the others read every request to `data: [DONE]`. Each client sends its next request as
// soon as the previous one ended (no think time). A phase issues requests for `durationMs`,
// then lets the requests in flight end by themselves (abandoners still abandon, stayers read
// to the end), so that no request is censored; after `drainCapMs` the rest are cut.
import { Agent, request as httpRequest } from 'node:http';
import { ABANDON_SUFFIX, clockSince, onCommand, processArgs, report } from './common.mjs';

const { baseNs } = processArgs();
const now = clockSince(baseNs);
// A fresh keep-alive agent per phase: a socket left idle while the worker drains between
// phases can be closed by the server just as it is reused (ECONNRESET, seen once).
let agent;

function oneRequest(url, id, body, abandonAfter, inFlight) {
  return new Promise((resolve) => {
    const record = { id, t0: now(), ttft: undefined, end: undefined, abortAt: undefined };
    let chunks = 0;
    let buffer = '';
    let settled = false;
    const settle = (outcome, detail) => {
      if (settled) return;
      settled = true;
      inFlight.delete(cut);
      record.outcome = outcome;
      if (detail !== undefined) record.detail = detail;
      resolve(record);
    };
    const req = httpRequest(`${url}/v1/chat/completions`, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-request-id': id,
      },
    });
    const cut = () => {
      req.destroy();
      settle('cut');
    };
    inFlight.add(cut);
    req.on('error', (error) => settle('error', error.code ?? error.message));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        settle('error', `HTTP ${res.statusCode}`);
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (text) => {
        if (settled) return;
        buffer += text;
        let split = buffer.indexOf('\n\n');
        while (split !== -1) {
          const event = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          split = buffer.indexOf('\n\n');
          if (event.startsWith('event: error')) {
            settle('error', 'sse error event');
            return;
          }
          if (!event.startsWith('data: ')) continue; // keep-alive comments
          const data = event.slice(6);
          if (data === '[DONE]') {
            record.end = now();
            settle(record.finish === undefined ? 'error' : 'completed', record.finish);
            return;
          }
          const choice = JSON.parse(data).choices?.[0];
          if (choice?.finish_reason) record.finish = choice.finish_reason;
          if (!choice?.delta?.content) continue;
          record.ttft ??= now() - record.t0;
          if (++chunks === abandonAfter) {
            record.abortAt = now();
            req.destroy();
            settle('abandoned');
            return;
          }
        }
      });
      res.on('close', () => settle('error', 'stream ended without [DONE]'));
    });
    req.end(body);
  });
}

async function runPhase(phase) {
  const { url, tag, clients, durationMs, drainCapMs, abandonAfter, maxTokens } = phase;
  agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const start = now();
  const stopIssuingAt = start + durationMs * 1000;
  const inFlight = new Set();
  const records = [];
  const loops = [];
  for (let i = 0; i < clients; i++) {
    const abandons = i % 2 === 0;
    const body = JSON.stringify({
      model: 'andon-sim',
      stream: true,
      max_tokens: maxTokens,
      messages: [{ role: 'user', content: `client ${i}: tell me a long story` }],
    });
    loops.push(
      (async () => {
        for (let n = 0; now() < stopIssuingAt; n++) {
          const id = `${tag}-${i}-${n}${abandons ? ABANDON_SUFFIX : '-s'}`;
          const record = await oneRequest(url, id, body, abandons ? abandonAfter : 0, inFlight);
          record.abandons = abandons;
          records.push(record);
          // A failing server must not turn the loop into a busy spin.
          if (record.outcome === 'error') await new Promise((r) => setTimeout(r, 20));
        }
      })(),
    );
  }
  const cap = setTimeout(() => {
    for (const cut of [...inFlight]) cut();
  }, durationMs + drainCapMs);
  await Promise.all(loops);
  clearTimeout(cap);
  agent.destroy();
  return { start, stopIssuingAt, end: now(), records };
}

onCommand(async (command) => {
  switch (command.type) {
    case 'phase':
      return runPhase(command);
    case 'shutdown':
      agent?.destroy();
      setImmediate(() => process.exit(0));
      return { ok: true };
    default:
      throw new Error(`client: unknown command ${command.type}`);
  }
});

report({ type: 'ready' });
