import net from 'node:net';
import { Disconnected } from '../errors.js';
import { advertisedHost } from './advertise.js';
import type { ByteChannel, Transport } from './transport.js';

/** TCP sockets: the embedded default, no server to install. */
export class TcpTransport implements Transport {
  readonly name = 'tcp';
  #server: net.Server | undefined;

  /**
   * `advertise` is the host others reach this listener at, when it differs from `host`
   * (see {@link advertisedHost}).
   */
  constructor(
    private readonly host = '127.0.0.1',
    private readonly port = 0,
    private readonly advertise?: string,
  ) {}

  listen(onChannel: (channel: ByteChannel) => void): Promise<string> {
    const server = net.createServer({ noDelay: true }, (socket) =>
      onChannel(new SocketChannel(socket)),
    );
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        const address = server.address() as net.AddressInfo;
        let host: string;
        try {
          host = advertisedHost(address.address, this.advertise);
        } catch (error) {
          server.close();
          reject(error);
          return;
        }
        resolve(
          `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${address.port}`,
        );
      });
    });
  }

  connect(address: string): Promise<ByteChannel> {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(colon + 1));
    if (colon < 1 || !Number.isInteger(port) || port <= 0 || port > 65535) {
      return Promise.reject(
        new TypeError(`tcp address must be "host:port", got ${JSON.stringify(address)}`),
      );
    }
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      const onError = (error: Error) => {
        socket.destroy();
        reject(
          new Disconnected(`cannot connect to ${address}: ${error.message}`, { cause: error }),
        );
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new SocketChannel(socket));
      });
    });
  }

  /** Stops accepting. Open sockets belong to their connections, which close them. */
  close(): Promise<void> {
    // net.Server#close waits for every open socket before calling back; the runtime closes
    // those itself after draining, so only the listening socket is closed here.
    this.#server?.close();
    this.#server = undefined;
    return Promise.resolve();
  }
}

// Unsent bytes a socket holds before the runtime stops producing for it.
const UNSENT_BYTES_LIMIT = 1024 * 1024;

class SocketChannel implements ByteChannel {
  readonly peer: string;
  #lastError: Error | undefined;

  constructor(private readonly socket: net.Socket) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
  }

  start(onData: (chunk: Buffer) => void, onClose: (error?: Error) => void): void {
    this.socket.on('data', onData);
    this.socket.on('error', (error) => {
      this.#lastError = error;
    });
    this.socket.once('close', () => onClose(this.#lastError));
    if (this.socket.destroyed) queueMicrotask(() => onClose(this.#lastError));
  }

  write(bytes: Uint8Array): boolean {
    if (this.socket.destroyed || !this.socket.writable) return true;
    this.socket.write(bytes);
    // Far above the socket's own high-water mark, so a burst never stalls the pumps; past
    // it the peer is not reading, and the socket's 'drain' is sure to come.
    return this.socket.writableLength < UNSENT_BYTES_LIMIT;
  }

  onDrain(callback: () => void): void {
    this.socket.once('drain', callback);
  }

  end(): void {
    this.socket.end();
    // A peer that never reads must not keep the socket open forever.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
