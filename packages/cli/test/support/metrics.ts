/** One sample of a Prometheus text page; 0 when the series does not exist (yet). */
export function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelPart = line.startsWith(`${name}{`)
      ? line.slice(name.length + 1, line.indexOf('}'))
      : '';
    const have = labelPart ? labelPart.split(',') : [];
    if (have.length === wanted.length && wanted.every((pair) => have.includes(pair))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

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

/** Polls `probe` every 20 ms until it returns true; fails after `ms` saying `what`. */
export async function eventually(
  probe: () => Promise<boolean>,
  what: string,
  ms = 5_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What a worker's metrics must show once an aborted stream's cancel reached it. */
export async function expectCancelledOnWorker(
  workers: readonly string[],
  frontEnd: string,
): Promise<void> {
  const engineDisconnects = () =>
    total(workers, 'andon_cancellations_total', { tier: 'engine', reason: 'disconnect' });
  await eventually(
    async () =>
      (await engineDisconnects()) === 1 && (await total(workers, 'andon_engine_slots_busy')) === 0,
    'the worker to count one disconnect and free its slot',
  );
  await eventually(
    async () =>
      (await total([`${frontEnd}/metrics`], 'andon_cancellations_total', {
        tier: 'frontend',
        reason: 'disconnect',
      })) === 1,
    'the front end to count one disconnect',
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
