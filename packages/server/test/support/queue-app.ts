import type { Context } from '@andon/context';
import { TaskManager } from '@andon/tasks';
import { ApiKeys, defineBuiltinKinds, type EmbeddedServerOptions } from '../../src/index.js';
import { startApp, type TestApp } from '../helpers.js';
import { QueueClient } from './queue-client.js';

/** Keys of the tests that need owners: two users and an admin. */
export const KEYS = {
  alice: 'sk-alice-0123456789abcdef',
  bob: 'sk-bob-0123456789abcdef00',
  root: 'sk-root-0123456789abcdef0',
};

export function apiKeys(): ApiKeys {
  return ApiKeys.parse(
    `${KEYS.alice} alice\n${KEYS.bob} bob\n${KEYS.root} root admin\n`,
    'test keys',
  );
}

/** An embedded server with tasks (the built-in kinds and test/Gate), and its sockets. */
export interface QueueApp extends TestApp {
  tasks: TaskManager;
  /** Releases every test/Gate task waiting for it. */
  release(): void;
  /** Opens a socket (authenticated with `key` when given) that the app closes afterwards. */
  socket(key?: string): Promise<QueueClient>;
  /** Subscriptions to the tasks' change feed not disposed yet (a leak check). */
  liveChangeListeners(): number;
  /** Closes the sockets, the tasks and the server. */
  close(): Promise<void>;
}

/**
 * test/Gate runs one at a time (so the others queue) and ends when {@link QueueApp.release}
 * is called, or when stopped.
 */
export async function startQueueApp(options: EmbeddedServerOptions = {}): Promise<QueueApp> {
  const tasks = await TaskManager.open();
  let listeners = 0;
  const onTaskChange = tasks.onTaskChange.bind(tasks);
  tasks.onTaskChange = (listener) => {
    const subscription = onTaskChange(listener);
    listeners++;
    let disposed = false;
    const dispose = () => {
      if (!disposed) listeners--;
      disposed = true;
      subscription.dispose();
    };
    return { dispose, [Symbol.dispose]: dispose };
  };
  const app = await startApp({ tasks, ...options });
  defineBuiltinKinds(tasks, { backend: app.engine });
  let open!: () => void;
  let gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  tasks.define(
    'test',
    'Gate',
    async function* (_input: unknown, ctx: Context) {
      yield { phase: 'started' };
      await Promise.race([gate, ctx.stopped()]);
      return 'released';
    },
    { concurrency: 1 },
  );
  const clients: QueueClient[] = [];
  const close = app.close.bind(app);
  return Object.assign(app, {
    tasks,
    liveChangeListeners: () => listeners,
    release() {
      open();
      gate = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
    async socket(key?: string) {
      const client = new QueueClient(app.url);
      clients.push(client);
      await client.open();
      if (key !== undefined) {
        client.send({ type: 'auth', api_key: key });
        await client.nextOf('authenticated');
      }
      return client;
    },
    async close() {
      await close();
      for (const client of clients) client.terminate();
    },
  });
}
