/** Counters a runtime keeps about its connections; read them with `runtime.stats()`. */
export interface RuntimeStats {
  connectionsOpened: number;
  connectionsLost: number;
  /** Connections closed on arrival because `maxConnections` were open. */
  connectionsRefused: number;
  streamsServed: number;
  streamsCalled: number;
  /** Malformed, oversized or unknown frames, bad handshakes, bad JSON. */
  protocolErrors: number;
  /** Times a peer stopped reading and the streams to it waited for its socket to drain. */
  congestions: number;
  /** Warnings held back because the same one was logged too often (see `limitWarnings`). */
  warningsSuppressed: number;
  /** Frames for streams already closed (normal in races with STOP/KILL). */
  framesDropped: number;
  /**
   * Items read and dropped by calls that only detached (`propagateCancellation: false`):
   * work the callee did for nobody.
   */
  itemsDroppedAfterDetach: number;
  /** Streams whose handler context was stopped or killed, by reason kind. */
  handlerCancellations: Record<string, number>;
}

export function newStats(): RuntimeStats {
  return {
    connectionsOpened: 0,
    connectionsLost: 0,
    connectionsRefused: 0,
    streamsServed: 0,
    streamsCalled: 0,
    protocolErrors: 0,
    congestions: 0,
    warningsSuppressed: 0,
    framesDropped: 0,
    itemsDroppedAfterDetach: 0,
    handlerCancellations: {},
  };
}
