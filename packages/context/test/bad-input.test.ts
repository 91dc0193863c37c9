import { describe, expect, it } from 'vitest';
import { isClock, systemClock, TestClock } from '../src/clock.js';
import { Context, linkedChildren } from '../src/context.js';
import { setErrorReporter } from '../src/report.js';

// Every failure a caller can cause is a TypeError that names the argument at fault.
const cases: Array<[string, () => unknown, RegExp]> = [
  ['options not an object', () => new Context(42 as never), /options must be an object/],
  ['negative timeout', () => new Context({ timeoutMs: -1 }), /options.timeoutMs must be/],
  ['NaN timeout', () => new Context({ timeoutMs: Number.NaN }), /options.timeoutMs/],
  ['infinite timeout', () => new Context({ timeoutMs: Number.POSITIVE_INFINITY }), /timeoutMs/],
  [
    'NaN deadline',
    () => new Context({ deadline: Number.NaN }),
    /options.deadline must be a finite/,
  ],
  ['infinite deadline', () => new Context({ deadline: Number.POSITIVE_INFINITY }), /deadline/],
  ['string deadline', () => new Context({ deadline: '5' as never }), /options.deadline/],
  ['empty id', () => new Context({ id: '' }), /options.id must be a non-empty string/],
  ['numeric id', () => new Context({ id: 7 as never }), /options.id/],
  ['parent not a Context', () => new Context({ parent: {} as never }), /options.parent must be/],
  [
    'bad signal',
    () => new Context({ signal: {} as never }),
    /options.signal must be an AbortSignal/,
  ],
  ['bad clock', () => new Context({ clock: { now: () => 0 } as never }), /options.clock must have/],
  ['child options', () => new Context().child('x' as never), /child\(options\): options must/],
  [
    'child timeout',
    () => new Context().child({ timeoutMs: -5 }),
    /child\(options\): options.timeoutMs/,
  ],
  [
    'onStop callback',
    () => new Context().onStop('x' as never),
    /onStop\(callback\): callback must be a function/,
  ],
  ['onKill callback', () => new Context().onKill(null as never), /onKill\(callback\): callback/],
  [
    'defer finalizer',
    () => new Context().defer(1 as never),
    /defer\(finalizer\): finalizer must be/,
  ],
  [
    'linkChild non-context',
    () => new Context().linkChild({} as never),
    /linkChild\(child\): child must be a Context/,
  ],
  [
    'reason kind',
    () => new Context().stop({ kind: 'oops' as never }),
    /reason.kind must be one of/,
  ],
  [
    'reason message',
    () => new Context().kill({ message: 5 as never }),
    /reason.message must be a string/,
  ],
  ['reason at', () => new Context().stop({ at: Number.NaN }), /reason.at must be a finite number/],
  [
    'reason type',
    () => new Context().stop(5 as never),
    /reason must be a string or a reason object/,
  ],
  ['TestClock start', () => new TestClock(Number.NaN), /TestClock\(startAt\)/],
  ['TestClock advance', () => new TestClock().advance(-1), /advance\(ms\)/],
  ['error reporter', () => setErrorReporter(5 as never), /reporter must be a function/],
];

describe('bad input throws a TypeError naming the argument', () => {
  it.each(cases)('%s', (_name, act, message) => {
    expect(act).toThrow(TypeError);
    expect(act).toThrow(message);
  });

  it('a bad reason is reported even when the call would change nothing', () => {
    const ctx = new Context();
    ctx.kill();
    expect(() => ctx.stop({ kind: 'nope' as never })).toThrow(TypeError);
    ctx.dispose();
    expect(() => ctx.kill({ origin: 3 as never })).toThrow(/reason.origin/);
  });

  it('a rejected option leaves nothing linked', () => {
    const parent = new Context();
    expect(() => parent.child({ deadline: Number.NaN })).toThrow(TypeError);
    expect(() => new Context({ parent, timeoutMs: -1 })).toThrow(TypeError);
    expect(linkedChildren(parent)).toEqual([]);
  });
});

describe('isClock', () => {
  it('accepts what has now, setTimer and clearTimer, and nothing less', () => {
    expect(isClock(new TestClock())).toBe(true);
    expect(isClock(systemClock)).toBe(true);
    expect(isClock(Date)).toBe(false);
    expect(isClock({ now: () => 0, setTimer: () => 0 })).toBe(false);
    expect(isClock(null)).toBe(false);
    expect(isClock('clock')).toBe(false);
  });
});
