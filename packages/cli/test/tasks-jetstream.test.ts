import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startNatsServer } from '../../../test/support/nats-server.js';
import {
  type JetStreamServer,
  natsServerBin,
  startJetStreamServer,
} from '../../tasks/test/support/jetstream.js';
import { Cli } from './support/cli.js';
import { EXIT_MS, FAST, perTestDir, urlOf } from './support/serve.js';

// Several `andon serve --nats` front ends and `andon worker --nats` workers, as separate
// processes on one nats-server with JetStream: the deployment of issue 18 on one machine.
const dir = perTestDir();
const LIVENESS_MS = 1_500;

interface TaskJson {
  id: string;
  status: string;
  started_at?: string;
  created_at?: string;
}

interface SseEvent {
  id: number;
  event: string;
  data: unknown;
}

describe.skipIf(natsServerBin === undefined)(
  'tasks shared on JetStream across processes',
  { timeout: 60_000 },
  () => {
    let nats: JetStreamServer;

    beforeEach(async () => {
      nats = await startJetStreamServer();
    });
    afterEach(() => nats?.stop());

    const env = () => ({ TMPDIR: dir(), ANDON_TASK_LIVENESS_MS: String(LIVENESS_MS) });

    function front(name: string, ...args: string[]): Cli {
      return new Cli(
        ['serve', '--nats', nats.server.url, '--data-dir', join(dir(), name), ...FAST, ...args],
        env(),
      );
    }

    function worker(...args: string[]): Cli {
      return new Cli(['worker', '--nats', nats.server.url, ...FAST, ...args], env());
    }

    async function create(url: string, kind: string, input: unknown): Promise<TaskJson> {
      const response = await fetch(`${url}/v1/tasks/${kind}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      expect(response.status).toBe(201);
      return (await response.json()) as TaskJson;
    }

    async function get(url: string, id: string): Promise<TaskJson> {
      return (await (await fetch(`${url}/v1/tasks/${id}`)).json()) as TaskJson;
    }

    // Every event of a task's SSE stream until the stream ends; `onEvent` sees each as it comes.
    async function watch(
      url: string,
      kind: string,
      id: string,
      onEvent: (event: SseEvent) => void = () => {},
    ): Promise<SseEvent[]> {
      const response = await fetch(`${url}/v1/tasks/${kind}/${id}/events`);
      expect(response.status).toBe(200);
      const events: SseEvent[] = [];
      const decoder = new TextDecoder();
      let buffered = '';
      const reader = response.body!.getReader();
      for (let read = await reader.read(); !read.done; read = await reader.read()) {
        buffered += decoder.decode(read.value, { stream: true });
        let end = buffered.indexOf('\n\n');
        while (end !== -1) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          end = buffered.indexOf('\n\n');
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((line) => !line.startsWith(':') && line.includes(':'))
              .map((line) => [
                line.slice(0, line.indexOf(':')),
                line.slice(line.indexOf(':') + 1).trim(),
              ]),
          );
          if (fields.data === undefined) continue;
          const event = {
            id: Number(fields.id),
            event: fields.event ?? 'message',
            data: JSON.parse(fields.data),
          };
          events.push(event);
          onEvent(event);
        }
      }
      return events;
    }

    async function ready(...workers: Cli[]): Promise<void> {
      for (const w of workers) {
        await w.line(/worker ready: .*runs tasks on JetStream/, 15_000).catch((error) => {
          throw new Error(`${error.message}\n${w.transcript}`);
        });
      }
    }

    it('creates on one front end, watches on both, cancels on the other: the worker stops it', async () => {
      const a = front('a', '--task-concurrency', '0');
      const b = front('b', '--task-concurrency', '0');
      const workers = [worker('--task-concurrency', '1'), worker('--task-concurrency', '1')];
      const [urlA, urlB] = await Promise.all([urlOf(a), urlOf(b)]);
      await ready(...workers);

      const task = await create(urlA, 'demo/Count', { n: 100_000, intervalMs: 20 });
      let progressed!: () => void;
      const running = new Promise<void>((resolve) => {
        progressed = resolve;
      });
      const onA = watch(urlA, 'demo/Count', task.id, progressed);
      const onB = watch(urlB, 'demo/Count', task.id);
      await running;
      const cancel = await fetch(`${urlB}/v1/tasks/demo/Count/${task.id}/cancel`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'stop from B' }),
      });
      expect(cancel.status).toBe(200);
      const [eventsA, eventsB] = await Promise.all([onA, onB]);
      for (const events of [eventsA, eventsB]) {
        expect(events.at(-1)).toMatchObject({
          event: 'cancelled',
          data: { message: 'stop from B' },
        });
        expect(events.filter((event) => event.event === 'cancelled')).toHaveLength(1);
      }
      // The handler on the worker stopped: with the other worker's slot taken, its slot takes
      // the next task.
      const busy = await create(urlA, 'demo/Count', { n: 100_000, intervalMs: 20 });
      const next = await create(urlB, 'demo/Count', { n: 2, intervalMs: 1 });
      const nextEvents = await watch(urlA, 'demo/Count', next.id);
      expect(nextEvents.map((event) => event.event)).toEqual(['progress', 'progress', 'complete']);
      expect((await get(urlB, busy.id)).status).toBe('running');
    });

    it('marks the task of a worker killed with SIGKILL failed, for watchers on every front end', async () => {
      const a = front('a', '--task-concurrency', '0');
      const b = front('b', '--task-concurrency', '0');
      const [doomed, survivor] = [
        worker('--task-concurrency', '1'),
        worker('--task-concurrency', '1'),
      ];
      const [urlA, urlB] = await Promise.all([urlOf(a), urlOf(b)]);
      await ready(doomed, survivor);
      // One task on each worker (one slot each).
      const tasks = [
        await create(urlA, 'demo/Count', { n: 100_000, intervalMs: 20 }),
        await create(urlA, 'demo/Count', { n: 100_000, intervalMs: 20 }),
      ];
      const watching = tasks.flatMap((task) =>
        [urlA, urlB].map((url) => {
          let progressed!: () => void;
          const running = new Promise<void>((resolve) => {
            progressed = resolve;
          });
          return { task, running, events: watch(url, 'demo/Count', task.id, progressed) };
        }),
      );
      await Promise.all(watching.map((w) => w.running));
      const killedAt = performance.now();
      doomed.child.kill('SIGKILL');
      const ended = await Promise.race(watching.map((w) => w.events.then(() => w.task)));
      const tookMs = performance.now() - killedAt;
      for (const w of watching.filter((w) => w.task === ended)) {
        const events = await w.events;
        expect(events.at(-1)).toMatchObject({ event: 'error' });
        expect(String((events.at(-1)?.data as { message: string }).message)).toMatch(/went silent/);
      }
      // The documented bound: the liveness period, then at most half of it again (plus slack
      // for a loaded machine).
      expect(tookMs).toBeLessThan(LIVENESS_MS * 1.5 + 3_000);
      expect((await get(urlB, ended.id)).status).toBe('failed');
      // The other worker's task is untouched.
      const other = tasks.find((task) => task !== ended)!;
      expect((await get(urlA, other.id)).status).toBe('running');
    });

    it('keeps a running task going through a nats-server restart, losing no event', async () => {
      const a = front('a', '--task-concurrency', '0');
      const w = worker('--task-concurrency', '1');
      const url = await urlOf(a);
      await ready(w);
      const task = await create(url, 'demo/Count', { n: 40, intervalMs: 50 });
      let seen = 0;
      let fifth!: () => void;
      const atFifth = new Promise<void>((resolve) => {
        fifth = resolve;
      });
      const live = watch(url, 'demo/Count', task.id, () => {
        if (++seen === 5) fifth();
      });
      await atFifth;
      await nats.server.restart();
      const all = Array.from({ length: 41 }, (_, i) => i + 1);
      // The watcher that was there all along gets every event, no gap, no double.
      const events = await live;
      expect(events.map((event) => event.id)).toEqual(all);
      expect(events.at(-1)?.event).toBe('complete');
      // So does one after the restart, from what the server acknowledged.
      expect((await watch(url, 'demo/Count', task.id)).map((event) => event.id)).toEqual(all);
    });

    // A WebSocket on a front end, with every message it got so far and a way to wait for one.
    async function queueSocket(url: string) {
      const socket = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`);
      const messages: Record<string, unknown>[] = [];
      const waiters = new Set<() => void>();
      socket.on('message', (data) => {
        messages.push(JSON.parse(String(data)));
        for (const wake of [...waiters]) wake();
      });
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const next = (match: (message: Record<string, unknown>) => boolean, what: string) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${what} within 10 s`)), 10_000);
          const check = () => {
            const found = messages.find(match);
            if (found === undefined) return;
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          };
          waiters.add(check);
          check();
        });
      return { socket, messages, next };
    }

    it('shows one queue on every front end’s WebSocket, and an interrupt on one reaches the worker', async () => {
      const a = front('a', '--task-concurrency', '0');
      const b = front('b', '--task-concurrency', '0');
      const w = worker('--task-concurrency', '1');
      const [urlA, urlB] = await Promise.all([urlOf(a), urlOf(b)]);
      await ready(w);
      const onA = await queueSocket(urlA);
      const onB = await queueSocket(urlB);
      const ids = ['first', 'second', 'third'];
      for (const id of ids) {
        onA.socket.send(
          JSON.stringify({
            type: 'submit',
            kind: 'demo/Count',
            input: { n: 100_000, intervalMs: 20 },
            request_id: id,
          }),
        );
        await onA.next((m) => m.type === 'queued' && m.request_id === id, `queued ${id}`);
      }
      // The same queue on both front ends: one running on the worker, two waiting in order.
      const sameQueue = (m: Record<string, unknown>) =>
        m.type === 'queue_update' &&
        m.processing === 1 &&
        JSON.stringify(m.queued_ids) === JSON.stringify(['second', 'third']);
      await onA.next(sameQueue, 'the queue on A');
      await onB.next(sameQueue, 'the queue on B');

      onB.socket.send(
        JSON.stringify({ type: 'interrupt', request_id: 'first', context: 'analysis' }),
      );
      await onB.next(
        (m) => m.type === 'error' && m.request_id === 'first' && m.context === 'analysis',
        'the interrupt answer on B',
      );
      // A follows its request: the result comes there, and the worker's slot goes to the next.
      await onA.next(
        (m) => m.type === 'result' && m.request_id === 'first' && m.status === 'cancelled',
        'the result on A',
      );
      await onA.next(
        (m) => m.type === 'status' && m.request_id === 'second' && m.status === 'running',
        'the second request running',
      );
      onA.socket.close();
      onB.socket.close();
    });

    it('says what to do when the NATS server has no JetStream: serve refuses, a worker serves its engine only', async () => {
      const plain = await startNatsServer();
      try {
        const serve = new Cli(
          ['serve', '--nats', plain.url, '--data-dir', join(dir(), 'p')],
          env(),
        );
        expect(await serve.exit(EXIT_MS), serve.transcript).toEqual({ code: 1, signal: null });
        expect(serve.stderr.join('\n')).toMatch(
          /has no JetStream, where tasks are shared: start it with -js .*or keep tasks local with --store sqlite/,
        );
        const w = new Cli(['worker', '--nats', plain.url, ...FAST], env());
        await w.line(/worker ready: serving \S+ as instance/, 15_000);
        expect(w.stderr.join('\n')).toMatch(/runs no tasks: .*has no JetStream/);
        w.child.kill('SIGTERM');
        expect(await w.exit(EXIT_MS), w.transcript).toEqual({ code: 0, signal: null });
      } finally {
        await plain.stop();
      }
    });

    it('drains 100 tasks created on two front ends with one slot each, in order, none run twice', async () => {
      const a = front('a', '--task-concurrency', '1');
      const b = front('b', '--task-concurrency', '1');
      const [urlA, urlB] = await Promise.all([urlOf(a), urlOf(b)]);
      const created: TaskJson[] = [];
      for (let n = 0; n < 100; n++) {
        created.push(
          await create(n % 2 === 0 ? urlA : urlB, 'demo/Count', { n: 1, intervalMs: 1 }),
        );
      }
      const streams = await Promise.all(
        created.map((task, n) => watch(n % 2 === 0 ? urlB : urlA, 'demo/Count', task.id)),
      );
      for (const events of streams) {
        // Run twice would show as a second progress event or a failed start.
        expect(events.map((event) => event.event)).toEqual(['progress', 'complete']);
      }
      const tasks = await Promise.all(created.map((task) => get(urlA, task.id)));
      const started = tasks.map((task) => Date.parse(task.started_at!));
      // Two slots take from one queue in submit order: no task starts before one two places ahead.
      const byStart = [...started.keys()].sort((x, y) => started[x]! - started[y]! || x - y);
      for (const [place, index] of byStart.entries()) expect(index).toBeLessThan(place + 3);
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect(await a.exit(EXIT_MS), a.transcript).toEqual({ code: 0, signal: null });
      expect(await b.exit(EXIT_MS), b.transcript).toEqual({ code: 0, signal: null });
    });
  },
);
