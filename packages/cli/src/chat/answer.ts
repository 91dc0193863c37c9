import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { RemotePause } from './remote-pause.js';
import type { AnswerScreen } from './screen.js';

/** Where an answer is. */
export type AnswerState = 'streaming' | 'paused' | 'stopped' | 'done';

/** How an answer ended. */
export interface AnswerOutcome {
  readonly state: 'stopped' | 'done';
  /** The text received (all of it, shown or held while paused). */
  readonly text: string;
  readonly tokens: number;
}

/** What one answer needs. */
export interface AnswerSetup {
  readonly openai: OpenAI;
  readonly model: string;
  readonly maxTokens: number | undefined;
  readonly messages: readonly ChatCompletionMessageParam[];
  readonly screen: AnswerScreen;
  readonly remote: RemotePause;
  /** Whether to keep the status line current (a terminal). */
  readonly live: boolean;
}

const STATUS_EVERY_MS = 250;
const DISPLAY_ONLY = 'paused (display only: this server cannot pause generation)';

/**
 * One streamed chat completion that can be paused, resumed and stopped while it streams.
 *
 * - Pause: nothing more is shown from the moment {@link togglePause} runs (text that still
 *   arrives is held), the stream is no longer read, and an andon server is asked to pause
 *   the generation itself. Resume shows the held text and reads on.
 * - Stop: the SDK stream is aborted, so the server sees the client leave, kills the request
 *   and frees its slot. The text so far stays.
 *
 * @example
 * const answer = new Answer(setup);
 * keys.onSpace = () => answer.togglePause();
 * const { state, text } = await answer.run();
 */
export class Answer {
  readonly requestId = `chat-${randomUUID()}`;
  readonly #setup: AnswerSetup;
  readonly #abort = new AbortController();
  #state: AnswerState = 'streaming';
  #held: string[] = [];
  #text = '';
  #tokens = 0;
  #started = performance.now();
  #ended: number | undefined;
  #wakeReader: (() => void) | undefined;
  #displayOnly = false;

  constructor(setup: AnswerSetup) {
    this.#setup = setup;
  }

  get state(): AnswerState {
    return this.#state;
  }

  /** Streams the answer to the screen; resolves when it is done or stopped. */
  async run(): Promise<AnswerOutcome> {
    const { screen, live } = this.#setup;
    const ticker = live ? setInterval(() => this.#showStatus(), STATUS_EVERY_MS) : undefined;
    this.#showStatus();
    try {
      await this.#read();
      if (this.#state !== 'stopped') this.#state = 'done';
    } catch (error) {
      if (!(error instanceof OpenAI.APIUserAbortError) || this.#state !== 'stopped') throw error;
    } finally {
      clearInterval(ticker);
      this.#ended = performance.now();
      // Text held by a pause that ended in a stop is never shown: nothing appears after the
      // pause key. It stays in the outcome (and the conversation).
      screen.close(live ? this.#statusLine() : '');
    }
    return { state: this.#state as 'stopped' | 'done', text: this.#text, tokens: this.#tokens };
  }

  /** Space: pauses a streaming answer, resumes a paused one. */
  togglePause(): void {
    if (this.#state === 'streaming') {
      this.#state = 'paused';
      this.#showStatus();
      void this.#setup.remote.set(this.requestId, true).then((answer) => {
        if (answer === 'unsupported' && this.#state === 'paused') {
          this.#displayOnly = true;
          this.#showStatus();
        }
      });
    } else if (this.#state === 'paused') {
      this.#state = 'streaming';
      this.#displayOnly = false;
      this.#flushHeld();
      this.#showStatus();
      void this.#setup.remote.set(this.requestId, false);
      this.#wake();
    }
  }

  /** `s`, Esc, Ctrl-C: stops this answer; the server frees the request's slot. */
  stop(): void {
    if (this.#state === 'stopped' || this.#state === 'done') return;
    this.#state = 'stopped';
    this.#abort.abort();
    this.#wake();
    this.#showStatus();
  }

  async #read(): Promise<void> {
    const { openai, model, maxTokens, messages } = this.#setup;
    const stream = await openai.chat.completions.create(
      {
        model,
        messages: [...messages],
        stream: true,
        stream_options: { include_usage: true },
        ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
      },
      { signal: this.#abort.signal, headers: { 'x-request-id': this.requestId } },
    );
    const iterator = stream[Symbol.asyncIterator]();
    try {
      for (;;) {
        // Paused: read nothing more (TCP and the server's buffers hold the rest back).
        while (this.#state === 'paused') await new Promise<void>((r) => (this.#wakeReader = r));
        if (this.#state === 'stopped') return;
        const next = await iterator.next();
        if (next.done) return;
        const chunk = next.value;
        const text = chunk.choices[0]?.delta?.content ?? '';
        if (text !== '') {
          this.#tokens++;
          this.#text += text;
          // Checked at the moment of writing (a key may have been read during the await):
          // after the pause key, nothing shows.
          const now = this.#now();
          if (now === 'paused') this.#held.push(text);
          else if (now === 'streaming') this.#setup.screen.text(text);
        }
        if (chunk.usage) this.#tokens = chunk.usage.completion_tokens;
        this.#showStatus();
      }
    } finally {
      if (this.#state !== 'stopped') await iterator.return?.();
    }
  }

  // The state as it is now: TypeScript would keep a narrowing from before an await.
  #now(): AnswerState {
    return this.#state;
  }

  #wake(): void {
    const wake = this.#wakeReader;
    this.#wakeReader = undefined;
    wake?.();
  }

  #flushHeld(): void {
    if (this.#held.length === 0) return;
    this.#setup.screen.text(this.#held.join(''));
    this.#held = [];
  }

  #showStatus(): void {
    if (this.#setup.live) this.#setup.screen.status(this.#statusLine());
  }

  #statusLine(): string {
    const seconds = ((this.#ended ?? performance.now()) - this.#started) / 1000;
    const rate = seconds > 0 ? this.#tokens / seconds : 0;
    const label = this.#state === 'paused' && this.#displayOnly ? DISPLAY_ONLY : this.#state;
    const keys =
      this.#state === 'streaming' || this.#state === 'paused'
        ? `   [space] ${this.#state === 'paused' ? 'resume' : 'pause'}  [s] stop  [q] quit`
        : '';
    return `${label} · ${this.#tokens} tokens · ${rate.toFixed(1)} tokens/s · ${seconds.toFixed(1)} s${keys}`;
  }
}
