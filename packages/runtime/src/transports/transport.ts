/**
 * A bidirectional byte pipe between two runtimes: a TCP socket, an in-memory pair, or a
 * NATS session. The protocol core (../session) runs unchanged over any of them.
 */
export interface ByteChannel {
  /**
   * Installs the receivers; called once, before any byte is delivered. `onData` gets each
   * chunk of the byte stream; a channel whose messages carry a header of their own may pass
   * the whole message and `from`, the index where the stream's bytes begin.
   */
  start(onData: (chunk: Uint8Array, from?: number) => void, onClose: (error?: Error) => void): void;
  /**
   * Queues bytes for the peer. Ignored once closed. The first {@link headroom} bytes are not
   * part of the stream: they are spare, for the channel to overwrite with its own header.
   * Returns `false` when the channel holds more unsent bytes than it wants to (the peer is
   * not reading): the runtime then produces nothing more until {@link onDrain} calls back.
   * A channel that never pushes back may return nothing.
   */
  write(bytes: Uint8Array): boolean | void;
  /** Calls `callback` once, when the unsent bytes that made `write` return `false` are gone. */
  onDrain?(callback: () => void): void;
  /**
   * How many spare bytes the channel wants in front of every write (default 0), so that it
   * can frame a message without copying it.
   */
  readonly headroom?: number;
  /** Closes after queued bytes are sent; the peer sees the close. */
  end(): void;
  /** Closes at once, dropping queued bytes. */
  destroy(): void;
  /** The peer, for logs and errors (e.g. `127.0.0.1:41234`). */
  readonly peer: string;
}

/** Accepts and opens channels for one transport kind. */
export interface Transport {
  readonly name: string;
  /** Starts accepting; resolves with the address other runtimes connect to. */
  listen(onChannel: (channel: ByteChannel) => void): Promise<string>;
  /** Opens a channel to an address published by `listen`. Rejects with Disconnected. */
  connect(address: string): Promise<ByteChannel>;
  /** Stops accepting new channels (open ones are closed by their owners). */
  close(): Promise<void>;
}
