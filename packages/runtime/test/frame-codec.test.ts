import type { CancelReason } from '@andon/context';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../src/wire/decoder.js';
import { FrameEncoder } from '../src/wire/encoder.js';
import { FrameType } from '../src/wire/frame.js';
import { decodeReason, releaseDecodedReason } from '../src/wire/reason-codec.js';

type Frame = { type: number; flags: number; stream: number; payload: Uint8Array };

function decodeAll(bytes: Uint8Array, from = 0): Frame[] {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder(
    1024 * 1024,
    (type, flags, stream, payload) =>
      frames.push({ type, flags, stream, payload: payload.slice() }),
    (message) => {
      throw new Error(message);
    },
  );
  decoder.push(bytes, from);
  return frames;
}

const reason: CancelReason = Object.freeze({
  kind: 'stop',
  message: 'user pressed stop — arrêt',
  origin: 'frontend-1',
  at: 1_732_000_000_123,
});

describe('frame encoder and decoder', () => {
  it('writes a STOP frame whose reason is encoded in place and decodes back to it', () => {
    const encoder = new FrameEncoder();
    encoder.reasonFrame(FrameType.STOP, 7, reason);
    const [frame, ...rest] = decodeAll(encoder.take());
    expect(rest).toEqual([]);
    expect(frame).toMatchObject({ type: FrameType.STOP, flags: 0, stream: 7 });
    expect(decodeReason(frame!.payload, 'STOP')).toEqual(reason);
    releaseDecodedReason();
  });

  it('starts every batch with the headroom a transport asked for, and only the batch', () => {
    const encoder = new FrameEncoder(5);
    expect(encoder.pendingBytes).toBe(0);
    encoder.frame(FrameType.DATA, 0, 1, '"a"');
    encoder.reasonFrame(FrameType.KILL, 1, reason);
    const first = encoder.take();
    // Five spare bytes, then both frames: 10-byte headers, a 3-byte item, the reason.
    const frames = decodeAll(first, 5);
    expect(frames.map((f) => f.type)).toEqual([FrameType.DATA, FrameType.KILL]);
    expect(first.length).toBe(5 + 10 + 3 + 10 + frames[1]!.payload.length);
    expect(encoder.pendingBytes).toBe(0);

    // The next batch gets headroom of its own, and the first batch's bytes stay as taken.
    const before = Buffer.from(first);
    encoder.frame(FrameType.END, 0, 1);
    expect(encoder.pendingBytes).toBe(10);
    const second = encoder.take();
    expect(second.length).toBe(15);
    expect(decodeAll(second, 5)).toMatchObject([{ type: FrameType.END, stream: 1 }]);
    expect(Buffer.from(first).equals(before)).toBe(true);
  });

  it('keeps the headroom when a batch outgrows the chunk', () => {
    const encoder = new FrameEncoder(5);
    encoder.frame(FrameType.DATA, 0, 1, '"x"');
    const big = new Uint8Array(100_000).fill(1);
    encoder.frame(FrameType.DATA, 1, 1, big);
    const bytes = encoder.take();
    const frames = decodeAll(bytes, 5);
    expect(frames.map((f) => f.payload.length)).toEqual([3, 100_000]);
  });

  it('decodes from an offset, and a frame split across pushes', () => {
    const encoder = new FrameEncoder();
    encoder.frame(FrameType.DATA, 0, 3, '"hello"');
    const bytes = encoder.take();
    const message = new Uint8Array(5 + bytes.length);
    message.set(bytes, 5);
    expect(decodeAll(message, 5)).toMatchObject([{ type: FrameType.DATA, stream: 3 }]);

    const frames: number[] = [];
    const decoder = new FrameDecoder(
      1024,
      (_type, _flags, stream) => frames.push(stream),
      (problem) => {
        throw new Error(problem);
      },
    );
    decoder.push(message.subarray(0, 12), 5); // 7 bytes of the frame
    expect(frames).toEqual([]);
    decoder.push(message, 12);
    expect(frames).toEqual([3]);
  });
});
