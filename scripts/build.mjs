// `npm run demo`, `serve`, `test` and the benchmarks build first. A first build takes up to
// a minute on a small machine and tsc says nothing while it works, so say what is happening
// (on stderr: stdout belongs to the command that follows). Exits with tsc's status.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
process.stderr.write(
  'andon: building the packages (tsc -b; the first build takes up to a minute)…\n',
);
const started = performance.now();
const result = spawnSync(process.execPath, [tsc, '-b'], { stdio: 'inherit' });
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (result.status === 0) process.stderr.write(`andon: built in ${seconds} s\n`);
else process.stderr.write(`andon: the build failed (after ${seconds} s); see above\n`);
process.exit(result.status ?? 1);
