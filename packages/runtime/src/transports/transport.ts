/**
 * A bidirectional byte pipe between two runtimes: a TCP socket, an in-memory pair, or a
 * NATS session. The protocol core (../session) runs unchanged over any of them.
 */
export interface ByteChannel {
  /** Installs the receivers; called once, before any byte is delivered. */
  start(onData: (chunk: Uint8Array) => void, onClose: (error?: Error) => void): void;
  /** Queues bytes for the peer. Ignored once closed. */
  write(bytes: Uint8Array): void;
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
