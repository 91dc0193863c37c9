import type { TaskManager, TaskRecord, TaskStatus } from '@andon/tasks';
import type { Principal } from '../auth/principal.js';
import type { CompletionRow, DashboardRow } from './protocol.js';
import { queueView } from './queue-update.js';
import { dashboardRow, iso } from './request-state.js';

const FINISHED_SHOWN = 20;
const FINISHED: readonly TaskStatus[] = ['completed', 'failed', 'cancelled', 'timed_out'];

/** What the `dashboard` message needs besides the tasks. */
export interface DashboardSources {
  readonly tasks: TaskManager;
  /** Ids the change feed saw finish while they still hold a slot (see {@link queueView}). */
  readonly ended: ReadonlySet<string>;
  /** OpenAI completions in flight, each with its owner. */
  completions(): CompletionRow[];
  /** The engine's slots, when this process knows its engine. */
  slots(): { busy: number; total: number } | null;
  cancellationsPerSecond(): number;
}

/**
 * The `dashboard` messages of one moment: the rows are read once (each running request's
 * latest event included), then each audience gets its text: admins every row, others only
 * their own; the counts are everyone's.
 */
export class DashboardSnapshot {
  readonly #sources: DashboardSources;
  readonly #texts = new Map<string, string>();
  #common: Promise<Common> | undefined;

  constructor(sources: DashboardSources) {
    this.#sources = sources;
  }

  /** The message for `principal`, serialized. */
  async textFor(principal: Principal): Promise<string> {
    const key = principal.admin ? '' : principal.user;
    const cached = this.#texts.get(key);
    if (cached !== undefined) return cached;
    this.#common ??= this.#read();
    const common = await this.#common;
    const mine = (row: { owner: string | null }) => principal.admin || row.owner === principal.user;
    const finished = await this.#sources.tasks.list({
      status: FINISHED,
      ...(principal.admin ? {} : { owner: principal.user }),
      limit: FINISHED_SHOWN,
    });
    const text = JSON.stringify({
      type: 'dashboard',
      at: common.at,
      queue_size: common.queued.length,
      processing: common.running.length,
      queued: common.queued.filter(mine),
      running: common.running.filter(mine),
      finished: await Promise.all(finished.map((task) => this.#row(task, 0))),
      completions: common.completions.filter(mine),
      slots: common.slots,
      cancellations_per_second: common.cancellationsPerSecond,
    });
    this.#texts.set(key, text);
    return text;
  }

  async #read(): Promise<Common> {
    const { tasks, ended } = this.#sources;
    const view = queueView(tasks, ended);
    const running = await Promise.all(
      view.running.map(async (created) => this.#row((await tasks.find(created.id)) ?? created, 0)),
    );
    return {
      at: iso(Date.now()),
      queued: view.queued.map((task) => dashboardRow(task, tasks.position(task.id), null)),
      running,
      completions: this.#sources.completions(),
      slots: this.#sources.slots(),
      cancellationsPerSecond: this.#sources.cancellationsPerSecond(),
    };
  }

  // The row with the data of the task's latest event before its end (for a bar or a phase).
  async #row(task: TaskRecord, position: number): Promise<DashboardRow> {
    const finished = FINISHED.includes(task.status);
    const seq = finished ? task.lastSeq - 1 : task.lastSeq;
    let progress: unknown = null;
    if (seq > 0) {
      const [event] = await this.#sources.tasks.store.events(task.id, seq - 1, 1);
      progress = event?.data ?? null;
    }
    return dashboardRow(task, position, progress);
  }
}

interface Common {
  at: string;
  queued: DashboardRow[];
  running: DashboardRow[];
  completions: CompletionRow[];
  slots: { busy: number; total: number } | null;
  cancellationsPerSecond: number;
}
