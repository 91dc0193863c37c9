import type { StreamEvent } from './event-stream.js';

const BAR_WIDTH = 30;

/**
 * Shows a task's events to a person: a progress bar for `{ step, of }`, bytes for
 * `{ bytes, total }`, streamed text for `{ text }`, one line for anything else, and a last
 * line that says how it ended. On a terminal the bar redraws in place.
 */
export class ProgressView {
  #barShown = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly err: NodeJS.WriteStream,
  ) {}

  show(event: StreamEvent): void {
    const data = (event.data ?? {}) as Record<string, unknown>;
    if (event.type === 'progress' && typeof data.step === 'number' && typeof data.of === 'number') {
      this.#bar(data.step, data.of);
    } else if (event.type === 'progress' && typeof data.text === 'string') {
      this.out.write(data.text);
    } else if (event.type === 'progress' && typeof data.bytes === 'number') {
      const total = typeof data.total === 'number' ? ` of ${data.total}` : '';
      this.#line(`${data.bytes} bytes${total}`, true);
    } else if (!isTerminal(event.type)) {
      this.#line(`${event.type}: ${JSON.stringify(event.data)}`);
    } else {
      this.#end(event, data);
    }
  }

  #bar(step: number, of: number): void {
    const filled = Math.round((BAR_WIDTH * Math.min(step, of)) / Math.max(of, 1));
    const text = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${step}/${of}`;
    this.#line(text, true);
  }

  #line(text: string, redraw = false): void {
    if (redraw && this.out.isTTY) {
      this.out.write(`\r\x1b[2K${text}`);
      this.#barShown = true;
      return;
    }
    this.#finishBar();
    this.out.write(`${text}\n`);
  }

  #end(event: StreamEvent, data: Record<string, unknown>): void {
    this.#finishBar();
    switch (event.type) {
      case 'complete':
        this.out.write(`\ncompleted: ${JSON.stringify(data.final_value ?? null)}\n`);
        break;
      case 'cancelled':
        this.err.write(`\ncancelled: ${String(data.message ?? '')}\n`);
        break;
      case 'timeout':
        this.err.write(`\ntimed out: ${String(data.message ?? '')}\n`);
        break;
      default:
        this.err.write(`\nfailed: ${String(data.message ?? '')}\n`);
    }
  }

  #finishBar(): void {
    if (!this.#barShown) return;
    this.out.write('\n');
    this.#barShown = false;
  }
}

function isTerminal(type: string): boolean {
  return type === 'complete' || type === 'error' || type === 'cancelled' || type === 'timeout';
}
