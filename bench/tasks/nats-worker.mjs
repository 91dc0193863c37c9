// Worker D of `bench:tasks --nats`: a TaskManager on the shared JetStream store that runs
// the bench kinds, and the raw-NATS baseline's counterpart. Reports over IPC.

import { TaskManager } from '@andon/tasks';
import { JetStreamStore } from '@andon/tasks/jetstream';
import { connect } from '@nats-io/transport-node';

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const url = process.argv[2];
const nc = await connect({ servers: url });
const tasks = await TaskManager.open({
  store: await JetStreamStore.open({ connection: nc, prefix: 'bench' }),
});

// Holds until its Context stops, then says when.
tasks.define(
  'bench',
  'Hold',
  async function* (_input, ctx, task) {
    yield { started: true };
    await ctx.stopped();
    process.send({ type: 'stopped', id: task.id, atUs: nowUs() });
  },
  { concurrency: 1 },
);
// `count` events, `intervalMs` apart, each stamped with when it was emitted.
tasks.define(
  'bench',
  'Emit',
  async (input, ctx, task) => {
    for (let i = 0; i < input.count && !ctx.isStopped(); i++) {
      await task.emit('tick', { sentAtUs: nowUs() });
      await new Promise((resolve) => setTimeout(resolve, input.intervalMs));
    }
  },
  { concurrency: 1 },
);
tasks.define('bench', 'Tiny', async () => 1, { concurrency: 16, maxQueued: 1e6 });

// The baseline: a stop message over core NATS, and events published straight to a subject.
nc.subscribe('bench.raw.stop', {
  callback: () => process.send({ type: 'raw-stopped', atUs: nowUs() }),
});
process.on('message', async (message) => {
  if (message.type === 'raw-emit') {
    for (let i = 0; i < message.count; i++) {
      nc.publish('bench.raw.events', JSON.stringify({ sentAtUs: nowUs() }));
      await new Promise((resolve) => setTimeout(resolve, message.intervalMs));
    }
  }
  if (message.type === 'stop') {
    await tasks.shutdown({ graceMs: 0 });
    await nc.close();
    process.exit(0);
  }
});
await nc.flush();
process.send({ type: 'ready' });
