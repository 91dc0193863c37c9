/** What asking the server to pause or resume did. */
export type PauseAnswer =
  /** The server paused (or resumed) the generation itself. */
  | 'done'
  /** The server has no such endpoint (not andon): only the display pauses. */
  | 'unsupported'
  /** The request is no longer in flight (it just ended). */
  | 'gone';

/**
 * Pauses and resumes a request's generation on an andon server through
 * `POST {baseURL}/requests/{id}/pause|resume` (docs/PAUSE.md). A server without the endpoint
 * answers 404 or 405; that is remembered, and later pauses do not ask again.
 */
export class RemotePause {
  #supported = true;

  constructor(
    private readonly baseURL: string,
    private readonly apiKey: string | undefined,
  ) {}

  /** False once the server showed it cannot pause generation. */
  get supported(): boolean {
    return this.#supported;
  }

  async set(requestId: string, paused: boolean): Promise<PauseAnswer> {
    if (!this.#supported) return 'unsupported';
    const url = `${this.baseURL.replace(/\/+$/, '')}/requests/${encodeURIComponent(requestId)}/${paused ? 'pause' : 'resume'}`;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
        },
        body: '{}',
        signal: AbortSignal.timeout(5_000),
      });
      const body = (await response.json().catch(() => undefined)) as
        | { error?: { code?: string } }
        | undefined;
      if (response.ok) return 'done';
      if (response.status === 404 && body?.error?.code === 'request_not_found') return 'gone';
      this.#supported = false;
      return 'unsupported';
    } catch {
      // Unreachable for a moment, or a server that does not answer this: show it as unsupported.
      this.#supported = false;
      return 'unsupported';
    }
  }
}
