import { describe, expect, it } from 'vitest';
import { TestClock } from '../src/clock.js';
import { all, any } from '../src/compose.js';
import { Context, registrationCount } from '../src/context.js';

describe('any', () => {
  it('stops when any input stops, reports which one, and never cancels the inputs', () => {
    const request = new Context();
    const shutdown = new Context();
    const either = any([request, shutdown]);
    expect(either.firedIndex).toBe(-1);
    expect(either.firedBy).toBeUndefined();
    shutdown.stop({ kind: 'shutdown', message: 'draining' });
    expect(either.context.state).toBe('stopped');
    expect(either.firedIndex).toBe(1);
    expect(either.firedBy).toBe(shutdown);
    expect(either.context.reason).toMatchObject({
      kind: 'parent',
      cause: { kind: 'shutdown', message: 'draining' },
    });
    request.stop();
    expect(either.firedBy).toBe(shutdown);
    expect(request.disposed || shutdown.disposed).toBe(false);
    either.dispose();
    expect(request.state).toBe('stopped');
    expect(shutdown.state).toBe('stopped');
  });

  it('is killed when any input is killed', () => {
    const a = new Context();
    const b = new Context();
    const either = any([a, b]);
    a.stop();
    b.kill();
    expect(either.context.state).toBe('killed');
    expect(either.firedIndex).toBe(0);
  });

  it('fires at once for an input already stopped (the first in list order)', () => {
    const a = new Context();
    const b = new Context();
    const c = new Context();
    b.stop('b');
    c.stop('c');
    const either = any([a, b, c]);
    expect(either.firedIndex).toBe(1);
    expect(either.context.reason?.cause?.message).toBe('b');
  });

  it('disposing it leaves nothing registered on long-lived inputs', () => {
    const longLived = new Context();
    for (let i = 0; i < 1_000; i++) {
      using either = any([longLived, new Context()]);
      either.context.child().dispose();
    }
    expect(registrationCount(longLived)).toBe(0);
    const either = any([longLived]);
    either.context.dispose();
    expect(registrationCount(longLived)).toBe(0);
  });

  it('takes options for its own context and the inputs’ clock', () => {
    const clock = new TestClock(0);
    const a = new Context({ clock });
    const either = any([a], { id: 'job-1', timeoutMs: 10 });
    expect(either.context.id).toBe('job-1');
    clock.advance(10);
    expect(either.context.reason?.kind).toBe('deadline');
    expect(either.firedIndex).toBe(-1);
    expect(a.state).toBe('live');
  });
});

describe('all', () => {
  it('stops once every input has stopped, and names the last one', () => {
    const alice = new Context();
    const bob = new Context();
    const everyone = all([alice, bob]);
    alice.stop('alice left');
    expect(everyone.context.state).toBe('live');
    bob.kill('bob dropped');
    expect(everyone.context.state).toBe('stopped');
    expect(everyone.firedBy).toBe(bob);
    expect(everyone.context.reason?.cause?.message).toBe('bob dropped');
    alice.kill();
    expect(everyone.context.state).toBe('killed');
    expect(registrationCount(alice) + registrationCount(bob)).toBe(0);
  });

  it('fires at once when every input is already stopped', () => {
    const a = new Context();
    a.stop();
    expect(all([a]).context.state).toBe('stopped');
  });
});

describe('bad input', () => {
  it('names the argument', () => {
    expect(() => any([] as Context[])).toThrow(/any\(contexts\): contexts must hold at least one/);
    expect(() => all(5 as never)).toThrow(/all\(contexts\): contexts must be an iterable/);
    expect(() => any([new Context(), {} as never])).toThrow(/contexts\[1\] must be a Context/);
    expect(() => any([new Context()], 'x' as never)).toThrow(/options must be an object/);
    expect(() => any([new Context()], { timeoutMs: -1 })).toThrow(/options.timeoutMs/);
  });
});
