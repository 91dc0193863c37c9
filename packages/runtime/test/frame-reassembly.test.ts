import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  MAX_PENDING_BYTES_PER_PROCESS,
  pendingFrameBytes,
} from '../src/wire/decoder.js';
import { FrameEncoder } from '../src/wire/encoder.js';
import { FrameType } from '../src/wire/frame.js';

interface Seen {
  stream: number;
  payload: Uint8Array;
}

function decoder(maxFrame = 1024 * 1024) {
  const frames: Seen[] = [];
  const errors: string[] = [];
  const instance = new FrameDecoder(
    maxFrame,
    (_type, _flags, stream, payload) => frames.push({ stream, payload: payload.slice() }),
    (message) => errors.push(message),
  );
  return { instance, frames, errors };
}

function encode(...payloads: Uint8Array[]): Uint8Array {
  const encoder = new FrameEncoder();
  for (const [index, payload] of payloads.entries()) {
    encoder.frame(FrameType.DATA, 1, index + 1, payload);
  }
  return encoder.take();
}

describe('frames split across chunks', () => {
  it('decode the same whatever the split points, one byte at a time included', () => {
    const payloads = [3, 0, 700, 1, 65_000].map((n, i) => new Uint8Array(n).fill(i + 1));
    const bytes = encode(...payloads);
    for (const step of [1, 2, 3, 4, 5, 7, 11, 4096, bytes.length]) {
      const { instance, frames, errors } = decoder();
      for (let at = 0; at < bytes.length; at += step) {
        instance.push(bytes.subarray(at, Math.min(at + step, bytes.length)));
      }
      expect(errors, `step ${step}`).toEqual([]);
      expect(frames.map((f) => f.stream)).toEqual([1, 2, 3, 4, 5]);
      expect(frames.map((f) => f.payload)).toEqual(payloads);
    }
    expect(pendingFrameBytes()).toBe(0);
  });

  it('cost linear time: a 1 MiB frame dribbled a byte at a time decodes within 5 s, not minutes', () => {
    // Joining everything held on every chunk would copy about 500 GB here.
    const bytes = encode(new Uint8Array(1024 * 1024 - 16).fill(7));
    const { instance, frames } = decoder();
    const started = performance.now();
    for (let at = 0; at < bytes.length; at++) instance.push(bytes.subarray(at, at + 1));
    const took = performance.now() - started;
    expect(frames).toHaveLength(1);
    expect(took).toBeLessThan(5_000);
  });

  it('are bounded per process: past the bound the connection pushing over is refused, and its bytes released', () => {
    const frameBytes = 1024 * 1024;
    const header = Buffer.alloc(4);
    header.writeUInt32BE(frameBytes - 4, 0);
    const almost = Buffer.concat([header, Buffer.alloc(frameBytes - 10)]);
    const holders: ReturnType<typeof decoder>[] = [];
    try {
      for (let i = 0; i < MAX_PENDING_BYTES_PER_PROCESS / frameBytes; i++) {
        const holder = decoder();
        holder.instance.push(almost);
        holders.push(holder);
      }
      expect(holders.every((h) => h.errors.length === 0)).toBe(true);
      const last = decoder();
      last.instance.push(almost);
      expect(last.errors).toEqual([
        `unfinished frames held by this process would exceed ${MAX_PENDING_BYTES_PER_PROCESS} bytes; closing this connection`,
      ]);
      expect(pendingFrameBytes()).toBe(holders.length * almost.length);
      // A frame that completes releases its bytes too.
      holders[0]!.instance.push(Buffer.alloc(6));
      expect(holders[0]!.frames).toHaveLength(1);
    } finally {
      for (const holder of holders) holder.instance.fail();
    }
    expect(pendingFrameBytes()).toBe(0);
  });
});
