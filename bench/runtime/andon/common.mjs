import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '@andon/runtime';

/** The tiers share a fresh discovery directory; it travels as the "address". */
export function newDiscoveryDir() {
  return mkdtempSync(join(tmpdir(), 'andon-bench-'));
}

export function startRuntime(discoveryDir) {
  return Runtime.start({
    transport: process.env.ANDON_BENCH_TRANSPORT ?? 'tcp',
    discoveryDir,
    ...(process.env.ANDON_BENCH_WINDOW ? { window: Number(process.env.ANDON_BENCH_WINDOW) } : {}),
  });
}

export const NS = 'bench';
