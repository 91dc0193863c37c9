#!/usr/bin/env node
// The `andon` command as npm links it. npm links a workspace's bin when it installs, before
// `npm run build` has made dist/, and a link to a missing file is skipped; this file is
// committed (with its run bit), so the link is always made and says what to do when the
// build is missing.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'andon: the command is not built yet: run `npm run build` at the repository root first\n',
  );
  process.exit(1);
}
await import(entry.href);
