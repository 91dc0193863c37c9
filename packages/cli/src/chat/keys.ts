/** What a key press asks for while an answer streams. */
export type KeyAction = 'pause' | 'stop' | 'interrupt' | 'quit';

// Raw mode hands us bytes, not keys: Esc alone is 0x1b; an arrow or function key is an
// escape sequence that starts with it, which is not Esc.
function actionOf(data: string): KeyAction | undefined {
  if (data === ' ') return 'pause';
  if (data === 's' || data === 'S' || data === '\x1b') return 'stop';
  if (data === '\x03') return 'interrupt';
  if (data === 'q' || data === 'Q') return 'quit';
  return undefined;
}

/**
 * The keyboard in raw mode on a TTY, read while an answer streams: each key press is
 * handled as soon as the event loop reads it (there is no line buffering in raw mode, and
 * Ctrl-C arrives as a byte, not SIGINT). Dispose restores the terminal's mode; so does the
 * process ending by any path, through an `exit` hook.
 *
 * @example
 * using keys = KeyReader.open(process.stdin, (action) => answer.handle(action));
 */
export class KeyReader implements Disposable {
  readonly #input: NodeJS.ReadStream;
  readonly #onData: (chunk: Buffer | string) => void;
  readonly #restore = () => this.#input.setRawMode(false);
  #open = true;

  private constructor(input: NodeJS.ReadStream, handle: (action: KeyAction) => void) {
    this.#input = input;
    this.#onData = (chunk) => {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      // Several keys can come in one read (typed fast, or pasted): handle each.
      const keys = text.startsWith('\x1b') ? [text] : [...text];
      for (const key of keys) {
        const action = actionOf(key);
        if (action !== undefined) handle(action);
      }
    };
    input.setRawMode(true);
    input.on('data', this.#onData);
    input.resume();
    process.once('exit', this.#restore);
  }

  /** Starts reading keys from `input` (which must be a TTY). */
  static open(input: NodeJS.ReadStream, handle: (action: KeyAction) => void): KeyReader {
    return new KeyReader(input, handle);
  }

  [Symbol.dispose](): void {
    if (!this.#open) return;
    this.#open = false;
    this.#input.off('data', this.#onData);
    this.#input.pause();
    this.#restore();
    process.off('exit', this.#restore);
  }
}
