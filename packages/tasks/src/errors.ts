/** Base of the errors `@andon/tasks` throws; `code` is stable and machine-readable. */
export class TaskError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** No kind `app/model` is defined. An HTTP face answers 404. */
export class UnknownKindError extends TaskError {
  constructor(
    readonly app: string,
    readonly model: string,
  ) {
    super('ANDON_UNKNOWN_KIND', `no task kind ${app}/${model} is defined`);
  }
}

/** The kind refused the input (its `validate` threw). An HTTP face answers 400. */
export class TaskInputError extends TaskError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ANDON_BAD_TASK_INPUT', message, options);
  }
}

/** A task with this id exists already. An HTTP face answers 409. */
export class TaskExistsError extends TaskError {
  constructor(readonly id: string) {
    super('ANDON_TASK_EXISTS', `a task with id ${id} exists already`);
  }
}

/** Too many tasks are queued for this kind. An HTTP face answers 429 with `Retry-After`. */
export class QueueFullError extends TaskError {
  constructor(
    readonly app: string,
    readonly model: string,
    readonly limit: number,
  ) {
    super(
      'ANDON_QUEUE_FULL',
      `the queue of ${app}/${model} is full (${limit} tasks waiting); try again later`,
    );
  }
}

/** The manager is shutting down and takes no new tasks. An HTTP face answers 503. */
export class ShuttingDownError extends TaskError {
  constructor() {
    super('ANDON_SHUTTING_DOWN', 'the task manager is shutting down and takes no new tasks');
  }
}

/**
 * A watcher fell more than its buffer behind the live events and was dropped. Nothing is
 * lost: the store has every event; watch again with `after: resumeAfter`.
 */
export class WatcherLaggedError extends TaskError {
  constructor(
    readonly taskId: string,
    readonly resumeAfter: number,
    readonly bufferSize: number,
  ) {
    super(
      'ANDON_WATCHER_LAGGED',
      `the watcher of task ${taskId} fell more than ${bufferSize} events behind; resume after seq ${resumeAfter}`,
    );
  }
}

/** No task with this id (and app/model) exists, or it was removed after `keepFor`. */
export class TaskNotFoundError extends TaskError {
  constructor(readonly id: string) {
    super(
      'ANDON_TASK_NOT_FOUND',
      `no task ${id} (it never existed, or it was removed after its keepFor)`,
    );
  }
}
