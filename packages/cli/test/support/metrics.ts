import { sampleOf } from '../../../../test/support/metrics.js';
import { waitFor } from '../../../../test/support/wait.js';

/** Reads `name{labels}` from each metrics URL and adds them up (one request lands on one worker). */
export async function total(
  metricsUrls: readonly string[],
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  let sum = 0;
  for (const url of metricsUrls) sum += sampleOf(await (await fetch(url)).text(), name, labels);
  return sum;
}

/** What a worker's metrics must show once an aborted stream's cancel reached it. */
export async function expectCancelledOnWorker(
  workers: readonly string[],
  frontEnd: string,
): Promise<void> {
  const engineDisconnects = () =>
    total(workers, 'andon_cancellations_total', { tier: 'engine', reason: 'disconnect' });
  await waitFor(
    async () =>
      (await engineDisconnects()) === 1 && (await total(workers, 'andon_engine_slots_busy')) === 0,
    'the worker to count one disconnect and free its slot',
    { everyMs: 20 },
  );
  await waitFor(
    async () =>
      (await total([`${frontEnd}/metrics`], 'andon_cancellations_total', {
        tier: 'frontend',
        reason: 'disconnect',
      })) === 1,
    'the front end to count one disconnect',
    { everyMs: 20 },
  );
  // Nothing more is generated for it: while one marker request per worker (round-robin
  // gives each worker one) decodes on that worker's token timers, the count grows by the
  // markers' tokens only. A stray step scheduled before them would have run first.
  const generated = await total(workers, 'andon_engine_tokens_generated_total');
  let markers = 0;
  for (let i = 0; i < workers.length; i++) markers += await markerTokens(frontEnd, 30);
  const extra = (await total(workers, 'andon_engine_tokens_generated_total')) - generated - markers;
  if (extra !== 0) {
    throw new Error(`the worker went on generating after the cancel: ${extra} tokens`);
  }
  if ((await total(workers, 'andon_tokens_after_cancel_total', { tier: 'engine' })) !== 0) {
    throw new Error('the worker generated tokens after the cancel');
  }
  if ((await engineDisconnects()) !== 1) throw new Error('more than one cancellation counted');
}

/** A short non-streamed completion through `frontEnd`; resolves with the tokens decoded. */
async function markerTokens(frontEnd: string, maxTokens: number): Promise<number> {
  const response = await fetch(`${frontEnd}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'andon-sim',
      messages: [{ role: 'user', content: 'marker' }],
      max_tokens: maxTokens,
    }),
  });
  if (!response.ok) throw new Error(`the marker request failed: ${response.status}`);
  const body = (await response.json()) as { usage: { completion_tokens: number } };
  return body.usage.completion_tokens;
}
