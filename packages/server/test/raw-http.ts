import { connect, type Socket } from 'node:net';
import { waitFor } from '../../../test/support/wait.js';

/** A hand-written HTTP/1.1 request on a raw socket: the client no library tidies up after. */
export class RawRequest {
  readonly socket: Socket;
  #received = '';
  #closed = false;

  constructor(
    url: string,
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ) {
    const { hostname, port } = new URL(url);
    this.socket = connect(Number(port), hostname);
    this.socket.setEncoding('utf8');
    this.socket.on('data', (data: string) => {
      this.#received += data;
    });
    this.socket.on('close', () => {
      this.#closed = true;
    });
    this.socket.on('error', () => {});
    // A test may name another host (DNS rebinding); otherwise the URL's.
    const lines = [`${method} ${path} HTTP/1.1`];
    if (headers.host === undefined) lines.push(`host: ${hostname}:${port}`);
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    if (body !== undefined) {
      lines.push('content-type: application/json', `content-length: ${Buffer.byteLength(body)}`);
    }
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
  }

  get received(): string {
    return this.#received;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The `data:` payloads received so far. */
  dataEvents(): string[] {
    return [...this.#received.matchAll(/^data: (.*)$/gm)].map((match) => match[1]!);
  }

  async until(
    predicate: (received: string) => boolean,
    what: string,
    timeoutMs = 3_000,
  ): Promise<void> {
    try {
      await waitFor(() => predicate(this.#received), what, timeoutMs);
    } catch {
      throw new Error(`timed out waiting for ${what}; received: ${this.#received.slice(-500)}`);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}
