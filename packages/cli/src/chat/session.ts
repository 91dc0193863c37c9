import { createInterface, type Interface } from 'node:readline';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { Answer } from './answer.js';
import { ChatError, explain } from './errors.js';
import { type KeyAction, KeyReader } from './keys.js';
import { RemotePause } from './remote-pause.js';
import { type AnswerScreen, PlainScreen, StatusScreen } from './screen.js';

/** What a chat session needs. */
export interface SessionSetup {
  readonly baseURL: string;
  readonly apiKey: string | undefined;
  readonly model: string;
  readonly maxTokens: number | undefined;
}

const DOUBLE_CTRL_C_MS = 2_000;
/** Exit codes: 128 + the signal number, as shells report them. */
const EXIT_SIGINT = 130;
const EXIT_SIGTERM = 143;

/**
 * The conversation: one answer for a prompt, or a prompt loop (REPL) without one. Owns the
 * keys (raw mode on a terminal) and the signals, routes them to the answer streaming now,
 * and gives the terminal back on every way out: normal end, `q`, an error, SIGTERM, or the
 * double Ctrl-C that exits at once.
 */
export class ChatSession {
  readonly #setup: SessionSetup;
  readonly #openai: OpenAI;
  readonly #remote: RemotePause;
  readonly #interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  readonly #messages: ChatCompletionMessageParam[] = [];
  #answer: Answer | undefined;
  #screen: AnswerScreen | undefined;
  #keys: KeyReader | undefined;
  #prompt: Interface | undefined;
  #lastInterrupt = Number.NEGATIVE_INFINITY;
  #quit = false;
  #exitCode = 0;
  readonly #onSigint = () => this.#interrupt();
  readonly #onSigterm = () => {
    this.#exitCode = EXIT_SIGTERM;
    this.#quit = true;
    this.#answer?.stop();
    this.#prompt?.close();
  };

  constructor(setup: SessionSetup) {
    this.#setup = setup;
    this.#openai = new OpenAI({
      baseURL: setup.baseURL,
      apiKey: setup.apiKey ?? 'unused',
      maxRetries: 0,
      timeout: 10 * 60_000,
    });
    this.#remote = new RemotePause(setup.baseURL, setup.apiKey);
  }

  /** Runs to the end; resolves with the exit code. */
  async run(prompt: string | undefined): Promise<number> {
    process.on('SIGINT', this.#onSigint);
    process.on('SIGTERM', this.#onSigterm);
    try {
      if (prompt !== undefined) await this.#ask(prompt);
      else await this.#repl();
      return this.#exitCode;
    } catch (error) {
      throw explain(error, this.#setup.baseURL);
    } finally {
      this.#release();
      process.off('SIGINT', this.#onSigint);
      process.off('SIGTERM', this.#onSigterm);
    }
  }

  async #repl(): Promise<void> {
    const lines = this.#interactive ? undefined : this.#pipedLines();
    while (!this.#quit) {
      const line = lines ? (await lines.next()).value : await this.#readLine();
      if (line === undefined) return;
      const text = line.trim();
      if (text === 'q' || text === '/quit') return;
      if (text !== '') await this.#ask(text);
    }
  }

  async #ask(prompt: string): Promise<void> {
    this.#messages.push({ role: 'user', content: prompt });
    const screen = this.#interactive
      ? new StatusScreen(process.stdout)
      : new PlainScreen(process.stdout);
    const answer = new Answer({
      openai: this.#openai,
      model: this.#setup.model,
      maxTokens: this.#setup.maxTokens,
      messages: this.#messages,
      screen,
      remote: this.#remote,
      live: this.#interactive,
    });
    this.#answer = answer;
    this.#screen = screen;
    if (this.#interactive) this.#keys = KeyReader.open(process.stdin, (key) => this.#key(key));
    try {
      const outcome = await answer.run();
      if (outcome.text !== '') this.#messages.push({ role: 'assistant', content: outcome.text });
    } finally {
      this.#keys?.[Symbol.dispose]();
      this.#keys = undefined;
      this.#answer = undefined;
      this.#screen = undefined;
    }
  }

  #key(action: KeyAction): void {
    if (action === 'pause') this.#answer?.togglePause();
    else if (action === 'stop') this.#answer?.stop();
    else if (action === 'interrupt') this.#interrupt();
    else {
      this.#quit = true;
      this.#answer?.stop();
    }
  }

  // Ctrl-C: stops the answer; a second one within 2 s exits at once.
  #interrupt(): void {
    const now = performance.now();
    if (now - this.#lastInterrupt <= DOUBLE_CTRL_C_MS) this.#exitNow(EXIT_SIGINT);
    this.#lastInterrupt = now;
    if (this.#answer !== undefined) this.#answer.stop();
    else if (this.#interactive)
      process.stdout.write('\n(Ctrl-C again to exit; q or Ctrl-D quits)\n> ');
    else {
      this.#quit = true;
      this.#prompt?.close();
    }
  }

  #exitNow(code: number): never {
    // process.exit runs no more async code: give the terminal back first. A stream that
    // was open ends with the process's sockets, which the server sees as the client leaving.
    this.#release();
    process.exit(code);
  }

  #release(): void {
    this.#screen?.close('');
    this.#keys?.[Symbol.dispose]();
    this.#prompt?.close();
  }

  // One line from the terminal, with line editing; undefined on Ctrl-D.
  #readLine(): Promise<string | undefined> {
    return new Promise((resolve) => {
      const prompt = createInterface({
        input: process.stdin,
        output: process.stdout,
        terminal: true,
      });
      this.#prompt = prompt;
      let answered = false;
      prompt.on('SIGINT', () => this.#interrupt());
      prompt.once('close', () => {
        this.#prompt = undefined;
        if (!answered) {
          process.stdout.write('\n');
          resolve(undefined);
        }
      });
      prompt.question('> ', (line) => {
        answered = true;
        prompt.close();
        resolve(line);
      });
    });
  }

  async *#pipedLines(): AsyncGenerator<string, undefined, undefined> {
    const lines = createInterface({ input: process.stdin, terminal: false });
    this.#prompt = lines;
    try {
      for await (const line of lines) {
        if (this.#quit) break;
        yield line;
      }
    } finally {
      lines.close();
    }
    return undefined;
  }
}

export { ChatError };
