import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `andon serve` keeps its task store and URL in $ANDON_DATA_DIR (default ~/.andon). The suite
// gets a directory of its own, removed afterwards, so tests never touch the user's.
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'andon-test-data-'));
  process.env.ANDON_DATA_DIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
