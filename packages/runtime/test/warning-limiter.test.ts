import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../src/runtime.js';
import { WARNING_WINDOW_MS, WARNINGS_PER_WINDOW } from '../src/session/warning-limiter.js';
import { FrameType } from '../src/wire/frame.js';
import { captureLogger } from './support/capture-logger.js';
import { errorOf, RawPeer } from './support/raw-peer.js';

let dir: string;
let server: Runtime;
let address: string;
const lines: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'andon-warnings-'));
  server = await Runtime.start({
    transport: 'tcp',
    discoveryDir: dir,
    logger: captureLogger(lines),
  });
  const served = await server
    .namespace('warn')
    .component('server')
    .endpoint('echo')
    .serve(async function* () {
      yield 1;
    });
  address = served.instance.address;
});

afterAll(async () => {
  await server.shutdown({ graceMs: 0 });
  rmSync(dir, { recursive: true, force: true });
});

describe('repeated warnings', () => {
  it('are logged a few times per window and counted, not logged once per bad connection', async () => {
    const probes = 60;
    const started = performance.now();
    for (let i = 0; i < probes; i++) {
      const peer = await RawPeer.connect(address);
      peer.frame(FrameType.HELLO, 0, '{not json');
      errorOf(await peer.next((f) => f.type === FrameType.ERROR));
      await peer.closedWithin();
    }
    const windows = Math.ceil((performance.now() - started) / WARNING_WINDOW_MS);
    const logged = lines.filter((line) => line.includes('protocol error: closing connection'));
    // One window on an idle machine; a loaded one may take longer, each window allowing a
    // few lines plus the one that says how many were held back.
    expect(logged.length).toBeLessThanOrEqual(windows * (WARNINGS_PER_WINDOW + 1));
    expect(logged.length).toBeGreaterThan(0);
    const stats = server.stats();
    expect(stats.protocolErrors).toBe(probes);
    expect(stats.warningsSuppressed).toBe(probes - logged.length);
  });
});
