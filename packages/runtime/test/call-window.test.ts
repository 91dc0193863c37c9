import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@andon/context';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.js';
import type { Client } from '../src/client.js';
import { Runtime } from '../src/runtime.js';
import { drain } from './support/drain.js';

// A per-call credit window: a consumer that stops reading holds the producer back within
// that many items, whatever the runtime's own window.

let dir: string;
let rt: Runtime;
let client: Client<unknown, number>;
/** Another endpoint of the same runtime: its calls share the counting call's connection. */
let marker: Client<unknown, string>;
let produced = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'andon-call-window-'));
  rt = await Runtime.start({ transport: 'tcp', discoveryDir: dir, window: 128 });
  await rt
    .namespace('w')
    .component('server')
    .endpoint('count')
    .serve(async function* (_request, context) {
      for (let i = 0; !context.isStopped(); i++) {
        produced++;
        yield i;
      }
    });
  client = (await rt.namespace('w').component('server').endpoint('count').client()) as Client<
    unknown,
    number
  >;
  await client.waitForInstances();
  await rt
    .namespace('w')
    .component('server')
    .endpoint('marker')
    .serve(async () => 'answered');
  marker = (await rt.namespace('w').component('server').endpoint('marker').client()) as Client<
    unknown,
    string
  >;
  await marker.waitForInstances();
});

afterAll(async () => {
  client.close();
  marker.close();
  await rt.shutdown({ graceMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Reads `read` items, then stops reading; waits for the handler to have produced `reach`
 * items, then resolves with how many it had produced once a marker call on the same
 * connection has been answered: the credit the reads sent went before that call, so the
 * server had taken it (and its producer gone on) before answering.
 */
async function producedWhenIdle(
  window: number | undefined,
  read: number,
  reach: number,
): Promise<number> {
  produced = 0;
  const context = new Context();
  const stream = await client.generate(null, {
    context,
    ...(window === undefined ? {} : { window }),
  });
  for (let i = 0; i < read; i++) expect((await stream.next()).value).toBe(i);
  await waitFor(() => produced >= reach, `the producer to reach ${reach} items`, 10_000);
  expect((await drain(await marker.generate(null))).items).toEqual(['answered']);
  const total = produced;
  await stream.return();
  context.dispose();
  return total;
}

describe('Client.generate(request, { window })', () => {
  it('holds the producer to the call window ahead of what was read', async () => {
    // Credit comes back as the consumer reads, so the producer is `window` ahead of it.
    expect(await producedWhenIdle(8, 20, 20)).toBeLessThanOrEqual(20 + 8);
  });

  it('uses the runtime window without one', async () => {
    expect(await producedWhenIdle(undefined, 20, 128)).toBeLessThanOrEqual(20 + 128);
  });

  it('rejects a window outside 1..65536', async () => {
    await expect(client.generate(null, { window: 0 })).rejects.toThrow(RangeError);
    await expect(client.generate(null, { window: 70_000 })).rejects.toThrow(/window/);
  });
});
