/** A task as the server's API shows it (the fields the CLI reads). */
export interface TaskJson {
  id: string;
  app: string;
  model: string;
  status: string;
  created_at: string;
  final_value?: unknown;
  error?: string;
  last_seq: number;
}

/** A failure answered by the server, with its status and the server's message. */
export class TaskApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TaskApiError';
  }
}

/** The task API of one andon server, over HTTP. */
export class TaskClient {
  /** `apiKey` goes as `Authorization: Bearer KEY` on every call. */
  constructor(
    readonly url: string,
    readonly apiKey?: string,
  ) {}

  /** The headers every call carries (the key, when there is one). */
  get headers(): Record<string, string> {
    return this.apiKey === undefined ? {} : { authorization: `Bearer ${this.apiKey}` };
  }

  /** Creates a task of `kind` (`app/model`) with `input`. */
  async create(kind: string, input: unknown): Promise<TaskJson> {
    return this.#call('POST', `/v1/tasks/${kindPath(kind)}`, input);
  }

  /** The task `id`, whatever its kind. */
  async find(id: string): Promise<TaskJson> {
    return this.#call('GET', `/v1/tasks/${encodeURIComponent(id)}`);
  }

  async cancel(task: TaskJson, reason?: string): Promise<boolean> {
    const body = reason === undefined ? undefined : { reason };
    const answer = await this.#call<{ cancelled: boolean }>(
      'POST',
      `${taskPath(task)}/cancel`,
      body,
    );
    return answer.cancelled;
  }

  async list(status?: string): Promise<TaskJson[]> {
    const query = status === undefined ? '' : `?status=${encodeURIComponent(status)}`;
    return (await this.#call<{ data: TaskJson[] }>('GET', `/v1/tasks${query}`)).data;
  }

  /** The URL of the task's event stream. */
  eventsUrl(task: TaskJson): string {
    return `${this.url}${taskPath(task)}/events`;
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          ...this.headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const cause =
        (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
      throw new Error(`cannot reach the andon server at ${this.url} (${cause})`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new TaskApiError(
        response.status,
        `${this.url} answered ${response.status} with something other than JSON; is it an andon server?`,
      );
    }
    if (!response.ok) {
      const message = (json as { error?: { message?: string } } | undefined)?.error?.message;
      throw new TaskApiError(response.status, message ?? `the server answered ${response.status}`);
    }
    return json as T;
  }
}

function taskPath(task: TaskJson): string {
  return `/v1/tasks/${encodeURIComponent(task.app)}/${encodeURIComponent(task.model)}/${encodeURIComponent(task.id)}`;
}

function kindPath(kind: string): string {
  const parts = kind.split('/');
  if (parts.length !== 2 || parts.some((part) => part === '')) {
    throw new Error(`a task kind is app/model, such as demo/Count; got ${JSON.stringify(kind)}`);
  }
  return parts.map(encodeURIComponent).join('/');
}
