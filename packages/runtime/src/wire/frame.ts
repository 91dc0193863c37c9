/** Frame types of the protocol (docs/PROTOCOL.md). */
export const FrameType = {
  HELLO: 0x01,
  WELCOME: 0x02,
  REQUEST: 0x03,
  DATA: 0x04,
  END: 0x05,
  ERROR: 0x06,
  STOP: 0x07,
  KILL: 0x08,
  CREDIT: 0x09,
  PING: 0x0a,
  PONG: 0x0b,
  GOAWAY: 0x0c,
  AUTH: 0x0d,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(FrameType).map(([name, code]) => [code, name]),
);

/** Frames that belong to the connection (stream 0); all others belong to a stream. */
export const CONNECTION_FRAMES: ReadonlySet<number> = new Set([
  FrameType.HELLO,
  FrameType.WELCOME,
  FrameType.PING,
  FrameType.PONG,
  FrameType.GOAWAY,
  FrameType.AUTH,
]);

export const PROTOCOL_VERSION = 3;
export const MAGIC = 'andon';
/** length (4) + type (1) + flags (1) + stream (4). */
export const HEADER_BYTES = 10;
/** What `length` counts besides the payload: type, flags, stream. */
export const LENGTH_OVERHEAD = 6;
export const DEFAULT_MAX_FRAME = 1024 * 1024;
/** Flag bit 0: the body or item is raw bytes, not UTF-8 JSON. */
export const FLAG_BINARY = 0x01;
export const KNOWN_FLAGS = FLAG_BINARY;

export function frameName(type: number): string {
  return FRAME_NAMES[type] ?? `0x${type.toString(16).padStart(2, '0')}`;
}
