import type { Context } from '@andon/context';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deferred } from '../../../test/support/wait.js';
import { TaskManager } from '../src/index.js';
import { JetStreamStore } from '../src/jetstream/jetstream-store.js';
import { type JetStreamServer, natsServerBin, startJetStreamServer } from './support/jetstream.js';

// The configuration docs/TASKS-ON-NATS.md recommends: andon in an account of its own, and
// in it a user that may only receive replies (as a monitoring tool might have).
const CONFIG = `
accounts {
  ANDON: {
    jetstream: enabled
    users: [
      { user: andon, password: andon-secret }
      { user: guest, password: guest-secret, permissions: {
          publish: { deny: [">"] }, subscribe: { allow: ["_INBOX.>"] } } }
    ]
  }
  OTHER: {
    jetstream: enabled
    users: [ { user: outsider, password: outsider-secret } ]
  }
}
`;

describe.skipIf(natsServerBin === undefined)('who may touch tasks on JetStream', () => {
  let nats: JetStreamServer;
  let tasks: TaskManager;
  let taskId = '';
  const release = deferred<void>();

  beforeAll(async () => {
    nats = await startJetStreamServer(CONFIG);
    const store = await JetStreamStore.open({
      connection: await nats.connect({ user: 'andon', pass: 'andon-secret' }),
    });
    tasks = await TaskManager.open({ store });
    tasks.define('test', 'Secret', async function* (_input: unknown, ctx: Context) {
      yield { prompt: 'the secret plan' };
      await Promise.race([release.promise, ctx.stopped()]);
      return 'done';
    });
    taskId = (await tasks.create('test', 'Secret', {})).id;
    for await (const event of tasks.events('test', 'Secret', taskId)) {
      if (event.type === 'progress') break;
    }
  });
  afterAll(async () => {
    release.resolve();
    await tasks?.shutdown({ graceMs: 200 });
    await nats?.stop();
  });

  it('keeps a user of another account from reading task events or cancelling', async () => {
    const outsider = await nats.connect({ user: 'outsider', pass: 'outsider-secret' });
    // Its own account has its own JetStream: the same names hold nothing of andon's.
    const seen: string[] = [];
    const sub = outsider.subscribe('andon.tasks.events.>', {
      callback: (_e, m) => {
        seen.push(m.subject);
      },
    });
    const store = await JetStreamStore.open({ connection: outsider, prefix: 'andon' });
    expect(await store.get(taskId)).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await store.events(taskId, 0)).toEqual([]);
    await store.close();
    const other = await TaskManager.open({
      store: await JetStreamStore.open({ connection: outsider }),
    });
    expect(await other.cancelTask('test', 'Secret', taskId)).toBe(false);
    await other.shutdown();
    sub.unsubscribe();
    expect(seen).toEqual([]);
    expect((await tasks.get('test', 'Secret', taskId))?.status).toBe('running');
  });

  it('refuses a user of andon’s account without the andon permissions: no events, no cancel', async () => {
    const guest = await nats.connect({ user: 'guest', pass: 'guest-secret' });
    const refusals: string[] = [];
    void (async () => {
      for await (const status of guest.status()) {
        if (status.type === 'error') refusals.push(String(status.error));
      }
    })();
    const sub = guest.subscribe('andon.tasks.events.>');
    await guest.flush();
    await expect(jetstream(guest).publish(`$KV.andon_tasks.${taskId}`, '{}')).rejects.toThrow();
    await expect(JetStreamStore.open({ connection: guest })).rejects.toThrow();
    await sub.closed.catch(() => {});
    expect(refusals.join('\n')).toMatch(
      /Permissions Violation for Subscription to "andon\.tasks\.events\.>"/,
    );
    expect((await tasks.get('test', 'Secret', taskId))?.status).toBe('running');
  });
});
