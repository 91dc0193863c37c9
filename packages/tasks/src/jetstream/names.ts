/**
 * Where a JetStream task store keeps things, all derived from one prefix so that several
 * andon deployments can share a NATS account without seeing each other's tasks.
 */
export interface JetStreamNames {
  /** KV bucket of task records, one key per task. */
  readonly tasksBucket: string;
  /** KV bucket of the processes that run tasks, each key renewed while its process lives. */
  readonly runnersBucket: string;
  /** Stream of every task's events, one subject per task. */
  readonly eventsStream: string;
  /** Subject filter matching every task's events. */
  readonly eventsFilter: string;
  /** The subject of task `id`'s events. */
  eventsSubject(id: string): string;
  /** The task id an events subject belongs to. */
  idOfSubject(subject: string): string;
  /** The KV key of task `id`. */
  key(id: string): string;
  /** The task id a KV key belongs to. */
  idOfKey(key: string): string;
}

const PREFIX = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * The names under `prefix` (letters, digits, `_`, `-`; default `andon`).
 *
 * Task ids may hold `.` and `:`. In a subject `.` separates tokens, so it becomes `~`,
 * which no id holds; KV keys may not hold `:`, so it becomes `=`, which no id holds either.
 *
 * @throws TypeError for a prefix NATS cannot use in a bucket or stream name.
 */
export function jetStreamNames(prefix = 'andon'): JetStreamNames {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    throw new TypeError(
      `JetStreamStore: prefix must be 1-32 letters, digits, '_' or '-', got ${JSON.stringify(prefix)}`,
    );
  }
  const subjectRoot = `${prefix}.tasks.events.`;
  return {
    tasksBucket: `${prefix}_tasks`,
    runnersBucket: `${prefix}_task_runners`,
    eventsStream: `${prefix}_task_events`,
    eventsFilter: `${subjectRoot}*`,
    eventsSubject: (id) => subjectRoot + id.replaceAll('.', '~'),
    idOfSubject: (subject) => subject.slice(subjectRoot.length).replaceAll('~', '.'),
    key: (id) => id.replaceAll(':', '='),
    idOfKey: (key) => key.replaceAll('=', ':'),
  };
}
