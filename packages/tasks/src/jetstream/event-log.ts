import type { Subscription } from '@andon/context';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { EventFeed } from '../event-feed.js';
import { isTerminalEvent, type TaskEvent } from '../task.js';
import type { JetStreamNames } from './names.js';
import { isWrongLastSequence, withRetries } from './retry.js';

/** The newest event of a task that this process knows of. */
interface Tail {
  seq: number;
  /** Its sequence in the stream (0: the task has no events), what the next write expects. */
  streamSeq: number;
  terminal: boolean;
  /** Events that arrived ahead of a gap, delivered once the gap is filled. */
  early: { event: TaskEvent; streamSeq: number }[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Every task's events in one JetStream stream, a subject per task.
 *
 * Numbering without a counter: an event is written with `seq` one past the newest event
 * this process knows of, and with the stream's expected-last-subject-sequence set to
 * where that event sits. If another process wrote in between, the server refuses the
 * write, this process reads the newest event again and decides anew. So `seq` has no gaps
 * and no doubles whichever processes write, and nothing lands after a terminal event.
 *
 * Delivery to local listeners: this process's own writes as soon as they are acknowledged,
 * everyone's through one ordered consumer of the whole stream; each task's events are
 * handed out once and in `seq` order, whichever path brings them first.
 */
export class EventLog {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #names: JetStreamNames;
  readonly #tails = new Map<string, Tail>();
  readonly #feed = new EventFeed();
  #stop: (() => void) | undefined;
  // Where the stream is read up to, so that following again after a reconnect misses nothing.
  #followedTo = 0;

  constructor(js: JetStreamClient, jsm: JetStreamManager, names: JetStreamNames) {
    this.#js = js;
    this.#jsm = jsm;
    this.#names = names;
  }

  /**
   * Follows every event written from now on, by any process, until {@link close}. Called
   * again (after the connection came back), it resumes where it was.
   */
  async follow(): Promise<void> {
    this.#stop?.();
    const consumer = await this.#js.consumers.get(this.#names.eventsStream, {
      filter_subjects: this.#names.eventsFilter,
      ...(this.#followedTo === 0
        ? { deliver_policy: DeliverPolicy.New }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#followedTo + 1 }),
    });
    // A short pull keeps missed heartbeats, and so a lost server, noticed within seconds.
    const messages = await consumer.consume({ expires: 2_000 });
    this.#stop = () => void messages.stop();
    void (async () => {
      for await (const message of messages) {
        this.#followedTo = Math.max(this.#followedTo, message.seq);
        const event = decodeEvent(message.data);
        this.#observe(this.#names.idOfSubject(message.subject), event, message.seq);
      }
    })();
  }

  subscribe(id: string, listener: (event: TaskEvent) => void): Subscription {
    return this.#feed.subscribe(id, listener);
  }

  /** A new task: it has no events (also when an earlier task with its id was purged). */
  created(id: string): void {
    // Another process may have taken the task and written to it before the creator heard
    // back from the server: what the stream delivered is newer than "no events".
    if (!this.#tails.has(id)) {
      this.#tails.set(id, { seq: 0, streamSeq: 0, terminal: false, early: [] });
    }
  }

  /** Forgets what this process knew of task `id` (it was purged). */
  forget(id: string): void {
    this.#tails.delete(id);
  }

  /** The `seq` of the newest event of `id` (0: none). */
  async lastSeq(id: string): Promise<number> {
    return (await this.#tail(id)).seq;
  }

  /** Whether the newest event of `id` is a terminal one. */
  async ended(id: string): Promise<boolean> {
    return (await this.#tail(id)).terminal;
  }

  /**
   * Writes an event one past the newest. Resolves `undefined` when the newest is terminal,
   * or when `stillOpen` says the task may no longer be written to.
   * `incarnation` tells apart tasks that reused a purged id (for de-duplication).
   */
  async write(
    id: string,
    incarnation: number,
    type: string,
    data: unknown,
    at: number,
  ): Promise<TaskEvent | undefined> {
    const subject = this.#names.eventsSubject(id);
    for (;;) {
      const tail = await this.#tail(id);
      if (tail.terminal) return undefined;
      const event: TaskEvent = Object.freeze({ seq: tail.seq + 1, type, data, timestamp: at });
      let streamSeq: number;
      try {
        const ack = await withRetries(() =>
          this.#js.publish(subject, encoder.encode(JSON.stringify(event)), {
            msgID: `${id}/${incarnation}/${event.seq}`,
            expect: { lastSubjectSequence: tail.streamSeq },
          }),
        );
        streamSeq = ack.seq;
      } catch (error) {
        if (!isWrongLastSequence(error)) throw error;
        // Another process wrote first: read the newest event again and decide anew.
        this.#tails.delete(id);
        continue;
      }
      this.#observe(id, event, streamSeq);
      return event;
    }
  }

  /** Stored events with `seq > after`, oldest first, at most `limit`. */
  async read(id: string, after: number, limit = Number.POSITIVE_INFINITY): Promise<TaskEvent[]> {
    if (limit <= 0) return [];
    const consumer = await withRetries(() =>
      this.#js.consumers.get(this.#names.eventsStream, {
        filter_subjects: this.#names.eventsSubject(id),
        deliver_policy: DeliverPolicy.All,
      }),
    );
    const events: TaskEvent[] = [];
    try {
      const pending = (await consumer.info(true)).num_pending;
      if (pending === 0) return events;
      const messages = await consumer.fetch({ max_messages: pending, expires: 5_000 });
      for await (const message of messages) {
        const event = decodeEvent(message.data);
        if (event.seq > after) events.push(event);
        if (message.info.pending === 0 || events.length >= limit) break;
      }
    } finally {
      await consumer.delete().catch(() => {});
    }
    return events;
  }

  /** Removes every event of task `id`. */
  async purge(id: string): Promise<void> {
    await withRetries(() =>
      this.#jsm.streams.purge(this.#names.eventsStream, {
        filter: this.#names.eventsSubject(id),
      }),
    );
    this.#tails.delete(id);
  }

  close(): void {
    this.#stop?.();
    this.#stop = undefined;
  }

  async #tail(id: string): Promise<Tail> {
    const known = this.#tails.get(id);
    if (known !== undefined) return known;
    const last = await withRetries(() =>
      this.#jsm.direct.getMessage(this.#names.eventsStream, {
        last_by_subj: this.#names.eventsSubject(id),
      }),
    );
    // A read raced by a delivery: the delivered one is at least as new.
    const raced = this.#tails.get(id);
    if (raced !== undefined) return raced;
    const event = last === null ? undefined : decodeEvent(last.data);
    const tail: Tail = {
      seq: event?.seq ?? 0,
      streamSeq: last?.seq ?? 0,
      terminal: event !== undefined && isTerminalEvent(event.type),
      early: [],
    };
    this.#tails.set(id, tail);
    return tail;
  }

  // One event of `id`, from this process's write or from the stream: hand it out once and
  // in order.
  #observe(id: string, event: TaskEvent, streamSeq: number): void {
    const tail = this.#tails.get(id);
    if (tail === undefined) {
      this.#tails.set(id, {
        seq: event.seq,
        streamSeq,
        terminal: isTerminalEvent(event.type),
        early: [],
      });
      this.#feed.publish(id, event);
      return;
    }
    if (event.seq <= tail.seq) return;
    if (event.seq > tail.seq + 1) {
      tail.early.push({ event, streamSeq });
      tail.early.sort((a, b) => a.event.seq - b.event.seq);
      return;
    }
    this.#advance(id, tail, event, streamSeq);
    while (tail.early[0] !== undefined && tail.early[0].event.seq <= tail.seq + 1) {
      const next = tail.early.shift()!;
      if (next.event.seq === tail.seq + 1) this.#advance(id, tail, next.event, next.streamSeq);
    }
  }

  #advance(id: string, tail: Tail, event: TaskEvent, streamSeq: number): void {
    tail.seq = event.seq;
    tail.streamSeq = Math.max(tail.streamSeq, streamSeq);
    tail.terminal = isTerminalEvent(event.type);
    this.#feed.publish(id, event);
  }
}

function decodeEvent(data: Uint8Array): TaskEvent {
  return Object.freeze(JSON.parse(decoder.decode(data)) as TaskEvent);
}
