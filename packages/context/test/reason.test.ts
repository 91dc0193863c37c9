import { describe, expect, it } from 'vitest';
import { Context } from '../src/context.js';
import { createReason, isStopKind, STOP_KINDS } from '../src/reason.js';

const fields = { kind: 'stop', message: 'user pressed stop', origin: 'web', at: 1_732_000_000_000 };

describe('createReason', () => {
  it('makes a frozen reason of exactly the given fields', () => {
    const reason = createReason({ ...fields, kind: 'deadline' });
    expect(reason).toEqual({ ...fields, kind: 'deadline' });
    expect(Object.isFrozen(reason)).toBe(true);
  });

  it('is taken by stop() and kill() as it is: the context reason is the same object', () => {
    const stopped = new Context();
    const reason = createReason({ ...fields, kind: 'stop' });
    stopped.stop(reason);
    expect(stopped.reason).toBe(reason);
    // Not only the one made last: any reason it made is used as it is.
    const first = createReason({ ...fields, kind: 'kill' });
    createReason({ ...fields, kind: 'shutdown' });
    const killed = new Context();
    killed.kill(first);
    expect(killed.reason).toBe(first);
  });

  it('a child stopped through its parent gets a parent reason whose cause is the created one', () => {
    const parent = new Context();
    const child = parent.child();
    const reason = createReason({ ...fields, kind: 'disconnect' });
    parent.kill(reason);
    expect(child.reason?.kind).toBe('parent');
    expect(child.reason?.cause).toBe(reason);
    expect(Object.isFrozen(child.reason)).toBe(true);
  });

  it.each([
    [{ ...fields, kind: 'nope' }, /kind must be one of stop, kill/],
    [{ ...fields, message: 3 }, /message must be a string, got 3/],
    [{ ...fields, origin: undefined }, /origin must be a string, got undefined/],
    [{ ...fields, at: Number.NaN }, /at must be a finite number, got NaN/],
    [{ ...fields, at: Number.POSITIVE_INFINITY }, /at must be a finite number, got Infinity/],
    [{ ...fields, at: '1' }, /at must be a finite number, got "1"/],
    [null, /fields must be an object, got null/],
  ])('refuses bad fields with a TypeError naming the field (%#)', (bad, message) => {
    expect(() => createReason(bad as never)).toThrow(TypeError);
    expect(() => createReason(bad as never)).toThrow(message);
  });

  it('a frozen lookalike from elsewhere is still accepted as it is; a mutable one is copied', () => {
    const frozen = Object.freeze({ ...fields });
    const a = new Context();
    a.stop(frozen as never);
    expect(a.reason).toBe(frozen);
    const mutable = { ...fields };
    const b = new Context();
    b.stop(mutable as never);
    expect(b.reason).not.toBe(mutable);
    expect(b.reason).toEqual(mutable);
    expect(Object.isFrozen(b.reason)).toBe(true);
  });
});

describe('isStopKind', () => {
  it('is true for every kind and nothing else', () => {
    for (const kind of STOP_KINDS) expect(isStopKind(kind)).toBe(true);
    for (const other of ['', 'Stop', 'toString', 'constructor', 1, null, undefined, {}]) {
      expect(isStopKind(other)).toBe(false);
    }
  });
});
