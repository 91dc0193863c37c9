import { type CancelReason, STOP_KINDS } from '@andon/context';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../src/errors.js';
import {
  clip,
  decodeReason,
  encodeReason,
  releaseDecodedReason,
} from '../src/wire/reason-codec.js';

const reason = (fields: Partial<CancelReason> = {}): CancelReason => ({
  kind: 'stop',
  message: 'stop requested',
  origin: 'local',
  at: 1_732_000_000_123.5,
  ...fields,
});

const roundTrip = (r: CancelReason) => decodeReason(Buffer.from(encodeReason(r)), 'STOP');

describe('STOP/KILL reasons on the wire', () => {
  it('round-trips every kind, with its message, origin and time, as a frozen reason', () => {
    for (const kind of STOP_KINDS) {
      const decoded = roundTrip(reason({ kind, message: `m-${kind}`, origin: `o-${kind}` }));
      expect(decoded).toEqual(reason({ kind, message: `m-${kind}`, origin: `o-${kind}` }));
      expect(Object.isFrozen(decoded)).toBe(true);
    }
  });

  it('keeps characters whose low byte looks like ASCII (Ł is U+0141)', () => {
    expect(roundTrip(reason({ message: 'Łódź', origin: 'ŁA' }))).toEqual(
      reason({ message: 'Łódź', origin: 'ŁA' }),
    );
  });

  it('keeps non-ASCII text and empty strings', () => {
    expect(roundTrip(reason({ message: 'arrêté — 停止 🛑', origin: '' }))).toEqual(
      reason({ message: 'arrêté — 停止 🛑', origin: '' }),
    );
  });

  it('decodes each reason afresh: texts of the same length or bytes are not confused', () => {
    const texts = ['abcd', 'abce', 'é€', 'ab€', 'abcd', 'stop requested', 'stop requestee'];
    for (const text of texts) {
      expect(roundTrip(reason({ message: text, origin: text }))).toMatchObject({
        message: text,
        origin: text,
      });
    }
  });

  it('decodes a text longer than senders write (another implementation may)', () => {
    const message = 'x'.repeat(200_000);
    const bytes = Buffer.alloc(11 + message.length);
    bytes.writeDoubleBE(1_732_000_000_000, 1);
    bytes.write(message, 11, 'latin1');
    expect(decodeReason(bytes, 'STOP')).toMatchObject({ kind: 'stop', message, origin: '' });
    releaseDecodedReason();
  });

  it('sends only the root reason: a cause is not carried', () => {
    const root = reason({ kind: 'deadline' });
    const decoded = roundTrip({ ...reason({ kind: 'parent' }), cause: root });
    expect(decoded.cause).toBeUndefined();
  });

  it('cuts an over-long message or origin at a character boundary instead of refusing it', () => {
    const decoded = roundTrip(reason({ message: '停'.repeat(5000), origin: 'é'.repeat(1000) }));
    expect(Buffer.byteLength(decoded.message)).toBeLessThanOrEqual(4096);
    expect(decoded.message).toBe('停'.repeat(1365));
    expect(decoded.origin).toBe('é'.repeat(512));
  });

  it('forwards the reason it is handling as the bytes it came in, and only while handling it', () => {
    // A message longer than this side would send (another implementation's): encoded
    // afresh it would be cut to 4 KiB, forwarded it keeps every byte.
    const message = 'x'.repeat(5000);
    const bytes = Buffer.alloc(11 + message.length);
    bytes.writeDoubleBE(1_732_000_000_000, 1);
    bytes.write(message, 11, 'latin1');
    const decoded = decodeReason(bytes, 'STOP');
    expect(Buffer.from(encodeReason(decoded)).equals(bytes)).toBe(true);
    releaseDecodedReason();
    // Afterwards the read buffer may be reused: the reason is encoded afresh.
    bytes.fill(0);
    const again = decodeReason(Buffer.from(encodeReason(decoded)), 'STOP');
    releaseDecodedReason();
    expect(again).toMatchObject({ kind: 'stop', origin: '', at: 1_732_000_000_000 });
    expect(again.message).toBe('x'.repeat(4096));
  });

  it.each([
    [Buffer.alloc(10), /STOP reason is 10 bytes; a reason has at least 11/],
    [Buffer.from([9, ...new Array(10).fill(0)]), /unknown kind 9/],
    [Buffer.from([0, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0, 0, 0]), /non-finite time/],
    [Buffer.from([0, ...new Array(8).fill(0), 0, 5, 65]), /origin \(5 bytes\) overruns/],
  ])('refuses a malformed reason with a ProtocolError that says why', (bytes, message) => {
    expect(() => decodeReason(bytes, 'STOP')).toThrow(ProtocolError);
    expect(() => decodeReason(bytes, 'STOP')).toThrow(message);
  });

  it('fuzz: any bytes decode to a reason or a ProtocolError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const decoded = decodeReason(Buffer.from(bytes), 'KILL');
          expect(STOP_KINDS).toContain(decoded.kind);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
    );
  });

  it('clip never cuts inside a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.nat(300), (text, max) => {
        const cut = clip(text, max);
        expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(Math.max(max, 0));
        expect(Buffer.from(text).subarray(0, Buffer.byteLength(cut)).toString()).toBe(cut);
      }),
    );
  });
});
