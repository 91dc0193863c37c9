import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { waitFor } from '../../../../test/support/wait.js';
import { BIN } from './cli.js';

/** Fails clearly when tmux is missing: the terminal tests are never skipped. */
export function assertTmux(): void {
  if (spawnSync('tmux', ['-V']).status !== 0) {
    throw new Error(
      'tmux is required by the terminal tests of `andon chat` (apt-get install tmux); CI installs it',
    );
  }
}

const EXIT_LINE = /^EXIT=(\d+)$/m;

/**
 * The real `andon` binary in a real terminal: a tmux session of its own (a private server
 * socket, so nothing else's tmux is touched), 120×30. Keys go in with `send-keys`; the screen
 * comes out with `capture-pane`. Every wait polls the screen for the awaited content, with a
 * bound; nothing sleeps for a fixed time.
 */
export class Terminal {
  readonly #socket = `andon-test-${randomUUID().slice(0, 8)}`;

  /** Starts `andon ARGS` (or `command ARGS`) in a new terminal; when it ends the pane shows `EXIT=<code>`. */
  constructor(args: readonly string[], command: readonly string[] = [process.execPath, BIN]) {
    const quoted = [...command, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`);
    // The shell stays after the command, so its exit code stays on the screen.
    const script = `${quoted.join(' ')}; code=$?; echo; echo "EXIT=$code"; exec sleep 600`;
    const started = this.#tmux('new-session', '-d', '-x', '120', '-y', '30', script);
    if (started.status !== 0) throw new Error(`tmux new-session failed: ${started.stderr}`);
  }

  /** The screen as text, one line per row. */
  screen(): string {
    return this.#tmux('capture-pane', '-p').stdout;
  }

  /** Sends keys, as tmux names them (`Space`, `Escape`, `C-c`, `Enter`, or literal text). */
  keys(...keys: string[]): void {
    this.#tmux('send-keys', ...keys);
  }

  /** Polls the screen every 25 ms until `probe` returns a value; fails after `ms` with the screen. */
  async until<T>(
    probe: (screen: string) => T | undefined | null | false,
    what: string,
    ms = 15_000,
  ): Promise<T> {
    let screen = '';
    let value: T | undefined | null | false;
    const found = () => value !== undefined && value !== null && value !== false;
    try {
      await waitFor(
        () => {
          screen = this.screen();
          value = probe(screen);
          return found();
        },
        what,
        { timeoutMs: ms, everyMs: 25 },
      );
    } catch {
      throw new Error(`waited ${ms} ms for ${what}; the screen:\n${screen}`);
    }
    return value as T;
  }

  /** Resolves with the command's exit code once the pane shows it. */
  exitCode(ms = 15_000): Promise<number> {
    return this.until(
      (s) => {
        const match = EXIT_LINE.exec(s);
        return match ? Number(match[1]) : undefined;
      },
      'the command to exit',
      ms,
    );
  }

  /** The terminal's line settings now (`stty -a`): raw mode shows as `-icanon`. */
  ttyModes(): string {
    const tty = this.#tmux('display-message', '-p', '#{pane_tty}').stdout.trim();
    return spawnSync('stty', ['-F', tty, '-a'], { encoding: 'utf8' }).stdout;
  }

  /** Ends the session and its tmux server (and so everything started in it). */
  close(): void {
    this.#tmux('kill-server');
  }

  #tmux(...args: string[]) {
    return spawnSync('tmux', ['-L', this.#socket, '-f', '/dev/null', ...args], {
      encoding: 'utf8',
      env: { ...process.env, TERM: 'xterm-256color' },
    });
  }
}

/** The status line's parts, from the screen (the last one shown). */
export function statusOf(screen: string): { state: string; tokens: number } | undefined {
  const matches = [
    ...screen.matchAll(/(streaming|paused[^·]*|stopped|done) · (\d+) tokens · [\d.]+ tokens\/s/g),
  ];
  const last = matches.at(-1);
  return last ? { state: last[1]!.trim(), tokens: Number(last[2]) } : undefined;
}

/** The screen without its status line and the keys hint: just the text shown. */
export function answerText(screen: string): string {
  return screen
    .split('\n')
    .filter((line) => !/ · \d+ tokens · /.test(line))
    .join('\n')
    .trimEnd();
}
