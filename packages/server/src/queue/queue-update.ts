import type { TaskManager, TaskRecord } from '@andon/tasks';
import type { Principal } from '../auth/principal.js';

/** What the queue looks like now, for `queue_update` and the dashboard. */
export interface QueueView {
  /** Waiting, in submit order over all kinds. */
  readonly queued: readonly TaskRecord[];
  /** Holding a slot and not finished. */
  readonly running: readonly TaskRecord[];
}

/**
 * The queue now. A cancelled task keeps its slot until its handler has returned, but it is
 * not running any more: `ended` (the ids the change feed saw finish) leaves it out, so an
 * interrupt shows in `processing` at once.
 */
export function queueView(tasks: TaskManager, ended: ReadonlySet<string>): QueueView {
  const { queued, running } = tasks.queue();
  return { queued, running: running.filter((task) => !ended.has(task.id)) };
}

/**
 * The `queue_update` texts of one moment, built once per audience: everyone's counts, and
 * the waiting ids of all users for admins, only their own for anyone else.
 */
export class QueueUpdates {
  readonly #view: QueueView;
  readonly #texts = new Map<string, string>();

  constructor(view: QueueView) {
    this.#view = view;
  }

  /** The message for `principal`, serialized (shared by every socket of the same audience). */
  textFor(principal: Principal): string {
    const key = principal.admin ? '' : principal.user;
    let text = this.#texts.get(key);
    if (text === undefined) {
      const { queued, running } = this.#view;
      const ids = principal.admin
        ? queued.map((task) => task.id)
        : queued.filter((task) => task.owner === principal.user).map((task) => task.id);
      text = JSON.stringify({
        type: 'queue_update',
        queue_size: queued.length,
        processing: running.length,
        queued_ids: ids,
      });
      this.#texts.set(key, text);
    }
    return text;
  }
}
