import type { Command } from 'commander';
import { exitWith } from '../lib/action.js';
import { say } from '../lib/output.js';
import { readTaskEvents } from '../task/event-stream.js';
import { ProgressView } from '../task/render.js';
import { serverUrl } from '../task/server-url.js';
import { TaskClient } from '../task/task-client.js';

interface UrlFlags {
  url?: string;
  apiKey?: string;
}

/**
 * Registers `andon task create | watch | cancel | list`: the tasks of a running andon
 * server, over its HTTP API.
 */
export function registerTask(program: Command): void {
  const task = program
    .command('task')
    .description(
      'create, watch, cancel and list the tasks of a running andon server (default: the one `andon serve` started here, or $ANDON_URL)',
    );
  const url = (command: Command) =>
    command
      .option('--url <url>', 'the andon server (default: $ANDON_URL, or the local `andon serve`)')
      .option(
        '--api-key <key>',
        'the API key, for a server started with --api-keys (default: $ANDON_API_KEY)',
      );

  url(task.command('create <kind>'))
    .description('create a task of KIND (app/model, e.g. demo/Count) and print its id')
    .option('--input <json>', 'the input, as JSON', '{}')
    .action((kind: string, flags: UrlFlags & { input: string }) =>
      exitWith(async (options: UrlFlags & { input: string; kind: string }) => {
        let input: unknown;
        try {
          input = JSON.parse(options.input);
        } catch (error) {
          throw new Error(`--input is not JSON: ${(error as Error).message}`);
        }
        const created = await client(options).create(options.kind, input);
        say(created.id);
        return 0;
      }, 'task create')({ ...flags, kind }),
    );

  url(task.command('watch <id>'))
    .description(
      'follow a task to its end: a progress bar, or --json for the events as JSON lines; Ctrl-C stops watching, not the task. Exit code 0 when it completed, 1 otherwise',
    )
    .option('--json', 'print each event as a JSON line', false)
    .action((id: string, flags: UrlFlags & { json: boolean }) =>
      exitWith(async (options: UrlFlags & { json: boolean; id: string }) => {
        const api = client(options);
        const found = await api.find(options.id);
        const view = new ProgressView(process.stdout, process.stderr);
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        try {
          const end = await readTaskEvents(
            api.eventsUrl(found),
            (event) => (options.json ? say(JSON.stringify(event)) : view.show(event)),
            stop.signal,
            api.headers,
          );
          if (end === undefined) return stop.signal.aborted ? 130 : 0;
          return end.type === 'complete' ? 0 : 1;
        } finally {
          process.off('SIGINT', onSignal);
        }
      }, 'task watch')({ ...flags, id }),
    );

  url(task.command('cancel <id>'))
    .description('cancel a task: prints true if this cancelled it, false if it had already ended')
    .option('--reason <text>', 'why, as watchers will see it')
    .action((id: string, flags: UrlFlags & { reason?: string }) =>
      exitWith(async (options: UrlFlags & { reason?: string; id: string }) => {
        const api = client(options);
        const found = await api.find(options.id);
        say(String(await api.cancel(found, options.reason)));
        return 0;
      }, 'task cancel')({ ...flags, id }),
    );

  url(task.command('list'))
    .description('list tasks, newest first: id, kind, status, created')
    .option(
      '--status <status>',
      'only these statuses, comma-separated (queued,running,completed,failed,cancelled,timed_out)',
    )
    .option('--json', 'print the tasks as JSON', false)
    .action(
      exitWith(async (options: UrlFlags & { status?: string; json: boolean }) => {
        const tasks = await client(options).list(options.status);
        if (options.json) say(JSON.stringify(tasks, null, 2));
        else
          for (const t of tasks) say(`${t.id}  ${t.app}/${t.model}  ${t.status}  ${t.created_at}`);
        return 0;
      }, 'task list'),
    );
}

function client(options: UrlFlags): TaskClient {
  const key = options.apiKey ?? (process.env.ANDON_API_KEY || undefined);
  return new TaskClient(serverUrl(options.url), key);
}
