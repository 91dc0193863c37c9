/** Where an answer goes: its text, and (on a terminal) a status line. */
export interface AnswerScreen {
  /** Appends answer text. */
  text(text: string): void;
  /** Replaces the status line (a no-op without a terminal). */
  status(line: string): void;
  /** Ends the answer: the status line becomes a last line of its own (`final`), and the terminal is as before. */
  close(final: string): void;
}

/** Plain text for a pipe: the answer, then a newline; no status line, no escape codes. */
export class PlainScreen implements AnswerScreen {
  constructor(private readonly out: NodeJS.WritableStream) {}
  text(text: string): void {
    this.out.write(text);
  }
  status(): void {}
  close(): void {
    this.out.write('\n');
  }
}

const ESC = '\x1b[';

/**
 * A terminal with the status line pinned to its last row: the rows above it scroll (a
 * DECSTBM scroll region), so the answer's text can stream freely while the status line is
 * redrawn in place. `close()` gives the terminal back its whole height, so nothing is left
 * pinned whichever way the program ends.
 */
export class StatusScreen implements AnswerScreen {
  readonly #out: NodeJS.WriteStream;
  readonly #onResize = () => this.#setRegion();
  #line = '';
  #open = true;

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
    // Make sure the cursor is not on the last row, which becomes the status row.
    out.write('\n\x1b[1A');
    this.#setRegion();
    out.on('resize', this.#onResize);
  }

  text(text: string): void {
    if (this.#open) this.#out.write(text);
  }

  status(line: string): void {
    if (!this.#open) return;
    this.#line = line;
    const rows = this.#out.rows ?? 24;
    const columns = this.#out.columns ?? 80;
    // Save the cursor, draw on the last row, restore: the answer's text never moves.
    this.#out.write(`\x1b7${ESC}${rows};1H${ESC}2K${line.slice(0, columns - 1)}\x1b8`);
  }

  close(final: string): void {
    if (!this.#open) return;
    this.#open = false;
    this.#out.off('resize', this.#onResize);
    const rows = this.#out.rows ?? 24;
    // Clear the status row, give back the whole screen (that homes the cursor: save and
    // restore around it), then print the final status as an ordinary line.
    this.#out.write(`\x1b7${ESC}${rows};1H${ESC}2K\x1b8\x1b7${ESC}r\x1b8`);
    this.#out.write(`\n${final}\n`);
  }

  #setRegion(): void {
    const rows = this.#out.rows ?? 24;
    this.#out.write(`\x1b7${ESC}1;${Math.max(1, rows - 1)}r\x1b8`);
    if (this.#line !== '') this.status(this.#line);
  }
}
