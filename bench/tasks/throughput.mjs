// Tiny tasks through create → run → complete, against the same handler called directly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore, TaskManager } from '@andon/tasks';
import { SqliteStore } from '@andon/tasks/sqlite';

const tiny = async () => 1;

async function throughManager(store, count, concurrency) {
  const tasks = await TaskManager.open({ store, concurrency, maxQueued: count });
  tasks.define('bench', 'Tiny', tiny);
  let done = 0;
  let finish;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });
  const watching = tasks.onTaskChange((task) => {
    if (task.status === 'completed' && ++done === count) finish();
  });
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await tasks.create('bench', 'Tiny', null);
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  watching.dispose();
  await tasks.shutdown({ graceMs: 0 });
  return count / seconds;
}

async function direct(count, concurrency) {
  const t0 = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      await tiny();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return count / ((performance.now() - t0) / 1000);
}

/** Tasks/s with SQLite and memory stores and the direct call, `runs` times each, interleaved. */
export async function measureThroughput({ count, concurrency, runs }) {
  // ANDON_BENCH_DB_DIR puts the SQLite files elsewhere (e.g. /dev/shm): each task is a few
  // commits, so the file system's commit cost shows directly in tasks/s.
  const dir = mkdtempSync(join(process.env.ANDON_BENCH_DB_DIR || tmpdir(), 'andon-bench-tiny-'));
  const figures = { sqlite: [], memory: [], direct: [] };
  try {
    for (let run = 0; run < runs; run++) {
      figures.sqlite.push(
        await throughManager(
          new SqliteStore({ path: join(dir, `run-${run}.db`) }),
          count,
          concurrency,
        ),
      );
      figures.memory.push(await throughManager(new MemoryStore(), count, concurrency));
      figures.direct.push(await direct(count, concurrency));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}
