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
  // Nothing more is generated for it: the token counter stands still.
  const generated = await total(workers, 'andon_engine_tokens_generated_total');
  await new Promise((resolve) => setTimeout(resolve, 150));
  if ((await total(workers, 'andon_engine_tokens_generated_total')) !== generated) {
    throw new Error('the worker went on generating after the cancel');
  }
  if ((await total(workers, 'andon_tokens_after_cancel_total', { tier: 'engine' })) !== 0) {
    throw new Error('the worker generated tokens after the cancel');
  }
  if ((await engineDisconnects()) !== 1) throw new Error('more than one cancellation counted');
}
