import type { ApiKeys, CompletionBackend, OpenAIServer, ServerMetrics } from '@andon/server';
import type { TaskManager } from '@andon/tasks';
import { commandPrefix, note, say } from '../lib/output.js';
import { publishServerUrl } from '../task/server-url.js';
import { type HttpFlags, httpServer, tryItLine } from './openai-http.js';
import { openTasks, type TaskFlags } from './task-options.js';

const PREFIX = commandPrefix('serve');

/** What {@link ServeFront.open} needs besides the backend. */
export interface FrontSetup extends HttpFlags, TaskFlags {
  graceMs: number;
  keys: ApiKeys | undefined;
  metrics?: ServerMetrics;
}

/**
 * The HTTP side of `andon serve`, whatever runs the engine: the tasks (with the built-in
 * kinds on `backend`), the server, and its URL left in the data directory for `andon task`.
 * {@link close} takes them down in the one order that gives every task watcher its end.
 */
export class ServeFront {
  private constructor(
    private readonly tasks: TaskManager,
    private readonly server: OpenAIServer,
    private readonly releaseStore: () => void,
    private readonly unpublish: () => void,
    private readonly graceMs: number,
  ) {}

  /**
   * Opens the tasks, listens, prints the URL (stdout) and `what` serves it (stderr).
   * A failure leaves nothing open.
   */
  static async open(
    backend: CompletionBackend,
    setup: FrontSetup,
    what: string,
  ): Promise<ServeFront> {
    const { tasks, where, release } = await openTasks(setup, backend);
    const server = httpServer(backend, { ...setup, tasks });
    try {
      const url = await server.listen();
      say(url);
      note(PREFIX, `${what}, ${where}; ${tryItLine(url)}`);
      const unpublish = publishServerUrl(url, setup.dataDir);
      return new ServeFront(tasks, server, release, unpublish, setup.graceMs);
    } catch (error) {
      await tasks.shutdown({ graceMs: 0 });
      release();
      await server.close();
      throw error;
    }
  }

  /** Tasks first (running ones end with kind `shutdown`; every watcher gets its end), then the server. */
  async close(): Promise<void> {
    this.unpublish();
    await this.tasks.shutdown({ graceMs: this.graceMs });
    this.releaseStore();
    await this.server.close();
  }
}
