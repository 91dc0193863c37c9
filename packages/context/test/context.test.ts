import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TestClock } from '../src/clock.js';
import { Context, linkedChildren, linkedParent, registrationCount } from '../src/context.js';
import { CancelledError, isCancelledError } from '../src/errors.js';
import { captureReports, flush, peek } from './helpers.js';

const reports = captureReports();

describe('state and triggers', () => {
  it('starts live and moves live → stopped → killed', () => {
    const ctx = new Context();
    expect(ctx.state).toBe('live');
    expect(ctx.isStopped()).toBe(false);
    ctx.stop();
    expect([ctx.state, ctx.isStopped(), ctx.isKilled()]).toEqual(['stopped', true, false]);
    ctx.kill();
    expect([ctx.state, ctx.isStopped(), ctx.isKilled()]).toEqual(['killed', true, true]);
  });

  it('stopGenerating is stop', () => {
    const ctx = new Context();
    ctx.stopGenerating('enough');
    expect(ctx.state).toBe('stopped');
    expect(ctx.reason).toMatchObject({ kind: 'stop', message: 'enough' });
  });

  it('kill after stop escalates and keeps the first reason', () => {
    const ctx = new Context();
    ctx.stop('first');
    ctx.kill('second');
    expect(ctx.state).toBe('killed');
    expect(ctx.reason?.message).toBe('first');
  });

  it('stop after kill never downgrades', () => {
    const ctx = new Context();
    ctx.kill('k');
    ctx.stop('s');
    expect(ctx.state).toBe('killed');
    expect(ctx.reason).toMatchObject({ kind: 'kill', message: 'k' });
  });

  it('repeated calls are no-ops: callbacks run once', () => {
    const ctx = new Context();
    let stops = 0;
    let kills = 0;
    ctx.onStop(() => stops++);
    ctx.onKill(() => kills++);
    ctx.stop();
    ctx.stop();
    ctx.kill();
    ctx.kill();
    ctx.stop();
    expect([stops, kills]).toEqual([1, 1]);
  });

  it('builds the reason from a string or a partial reason, with the clock time', () => {
    const clock = new TestClock(1_000);
    const a = new Context({ clock });
    a.stop('bye');
    expect(a.reason).toEqual({ kind: 'stop', message: 'bye', origin: 'local', at: 1_000 });
    const b = new Context({ clock });
    b.kill({ kind: 'disconnect', origin: 'tier-2' });
    expect(b.reason).toEqual({
      kind: 'disconnect',
      message: 'peer disconnected',
      origin: 'tier-2',
      at: 1_000,
    });
    expect(Object.isFrozen(b.reason)).toBe(true);
  });

  it('accepts every documented kind', () => {
    for (const kind of [
      'stop',
      'kill',
      'deadline',
      'disconnect',
      'shutdown',
      'parent',
      'signal',
      'condition',
      'error',
    ] as const) {
      const ctx = new Context();
      ctx.stop({ kind });
      expect(ctx.reason?.kind).toBe(kind);
    }
  });

  it('a child cancelled through its parent gets kind parent with the root reason as cause', () => {
    const root = new Context();
    const mid = root.child();
    const leaf = mid.child();
    root.stop({ kind: 'shutdown', message: 'draining' });
    expect(mid.reason).toMatchObject({ kind: 'parent', cause: root.reason });
    expect(leaf.reason?.kind).toBe('parent');
    expect(leaf.reason?.cause).toBe(root.reason);
  });
});

describe('waits are level-triggered', () => {
  it('stopped(), killed() and killedOrStopped() resolve when the state is reached', async () => {
    const ctx = new Context();
    const stopped = ctx.stopped();
    const killed = ctx.killed();
    const either = ctx.killedOrStopped();
    expect(await peek(stopped)).toBe('pending');
    ctx.stop();
    await expect(stopped).resolves.toBeUndefined();
    await expect(either).resolves.toBe('stopped');
    expect(await peek(killed)).toBe('pending');
    ctx.kill();
    await expect(killed).resolves.toBeUndefined();
  });

  it('resolve at once when the state is already reached', async () => {
    const ctx = new Context();
    ctx.kill();
    expect(await peek(ctx.stopped())).toBe('fulfilled');
    expect(await peek(ctx.killed())).toBe('fulfilled');
    await expect(ctx.killedOrStopped()).resolves.toBe('killed');
  });

  it('killedOrStopped() says killed for a context killed outright', async () => {
    const ctx = new Context();
    const either = ctx.killedOrStopped();
    ctx.kill();
    await expect(either).resolves.toBe('killed');
  });
});

describe('links', () => {
  it('reaches children and descendants in link order', () => {
    const parent = new Context();
    const order: string[] = [];
    const a = parent.child();
    const b = new Context();
    parent.linkChild(b);
    const a1 = a.child();
    a.onStop(() => order.push('a'));
    a1.onStop(() => order.push('a1'));
    b.onStop(() => order.push('b'));
    parent.stop();
    expect(order).toEqual(['a', 'a1', 'b']);
  });

  it('sets every state in the subtree before any callback runs', () => {
    const parent = new Context();
    const first = parent.child();
    const second = parent.child();
    const grandchild = second.child();
    let seen: string[] = [];
    parent.onStop(() => {
      seen = [first.state, second.state, grandchild.state];
    });
    parent.stop();
    expect(seen).toEqual(['stopped', 'stopped', 'stopped']);
  });

  it('cancel before link: a child linked under a stopped parent is stopped at once', () => {
    const parent = new Context();
    parent.stop('already');
    const child = new Context();
    let called = 0;
    child.onStop(() => called++);
    parent.linkChild(child);
    expect(child.state).toBe('stopped');
    expect(child.reason?.cause?.message).toBe('already');
    expect(called).toBe(1);
    expect(parent.child().state).toBe('stopped');
  });

  it('a child linked under a killed parent is killed at once', () => {
    const parent = new Context();
    parent.kill();
    const child = new Context();
    parent.linkChild(child);
    expect(child.state).toBe('killed');
  });

  it('link during cancel: a child linked from a stop callback is stopped too', () => {
    const parent = new Context();
    const late = new Context();
    parent.onStop(() => parent.linkChild(late));
    parent.stop();
    expect(late.state).toBe('stopped');
  });

  it('the disposable from linkChild unlinks without cancelling', () => {
    const parent = new Context();
    const child = new Context();
    const link = parent.linkChild(child);
    link.dispose();
    link.dispose();
    expect(linkedParent(child)).toBeUndefined();
    parent.stop();
    expect(child.state).toBe('live');
    const other = new Context();
    other.linkChild(child);
    expect(linkedParent(child)).toBe(other);
  });

  it('refuses cycles, self links and a second parent', () => {
    const a = new Context();
    const b = a.child();
    const c = b.child();
    expect(() => c.linkChild(a)).toThrow(/cycle/);
    expect(() => a.linkChild(a)).toThrow(/cycle/);
    expect(() => a.linkChild(c)).toThrow(/already has a parent/);
    expect(() => b.linkChild(c)).toThrow(/already linked to this context/);
  });

  it('refuses to link disposed contexts', () => {
    const parent = new Context();
    const child = new Context();
    child.dispose();
    expect(() => parent.linkChild(child)).toThrow(TypeError);
    expect(() => parent.linkChild(child)).toThrow(/child is disposed/);
    parent.dispose();
    expect(() => parent.linkChild(new Context())).toThrow(/this context is disposed/);
    expect(() => parent.child()).toThrow(/disposed/);
    expect(() => new Context({ parent })).toThrow(/options.parent is disposed/);
  });

  it('new Context({ parent }) links like child()', () => {
    const parent = new Context({ id: 'req-1' });
    const child = new Context({ parent });
    expect(linkedParent(child)).toBe(parent);
    expect(child.id).toBe('req-1');
    parent.kill();
    expect(child.isKilled()).toBe(true);
  });
});

describe('ids', () => {
  it('generates a UUID when none is given', () => {
    const ctx = new Context();
    expect(ctx.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ctx.id).toBe(ctx.id);
    expect(new Context().id).not.toBe(ctx.id);
  });

  it('a child keeps the parent id unless told otherwise, even when read first', () => {
    const parent = new Context();
    const child = parent.child();
    const grandchild = child.child();
    expect(grandchild.id).toBe(parent.id);
    expect(child.id).toBe(parent.id);
    expect(parent.child({ id: 'sub-1' }).id).toBe('sub-1');
    expect(new Context({ id: 'given' }).child().id).toBe('given');
  });
});

describe('dispose', () => {
  it('is not a cancellation: a never-stopped context completes', async () => {
    const ctx = new Context();
    const outcome = ctx.outcome();
    ctx.dispose();
    expect(ctx.state).toBe('live');
    expect(ctx.disposed).toBe(true);
    await expect(outcome).resolves.toEqual({ status: 'completed' });
    expect(await peek(ctx.stopped())).toBe('pending');
  });

  it('reports stopped or killed with the reason', async () => {
    const a = new Context();
    a.stop('s');
    a.dispose();
    await expect(a.outcome()).resolves.toMatchObject({
      status: 'stopped',
      reason: { message: 's' },
    });
    const b = new Context();
    b.stop('s');
    b.kill();
    b.dispose();
    await expect(b.outcome()).resolves.toMatchObject({
      status: 'killed',
      reason: { message: 's' },
    });
  });

  it('unlinks from the parent, so the parent keeps nothing', () => {
    const parent = new Context();
    const children = Array.from({ length: 10 }, () => parent.child());
    for (const child of children) child.dispose();
    expect(linkedChildren(parent)).toEqual([]);
    parent.stop();
    for (const child of children) expect(child.state).toBe('live');
  });

  it('unlinks from the middle of the list and keeps the order of the others', () => {
    const parent = new Context();
    const [a, b, c] = [parent.child(), parent.child(), parent.child()];
    b!.dispose();
    expect(linkedChildren(parent)).toEqual([a, c]);
    a!.dispose();
    c!.dispose();
    expect(linkedChildren(parent)).toEqual([]);
  });

  it('stops children that are still live, with kind parent, and unlinks them', () => {
    const parent = new Context();
    const live = parent.child();
    const done = parent.child();
    done.dispose();
    parent.dispose();
    expect(live.state).toBe('stopped');
    expect(live.reason).toMatchObject({ kind: 'parent' });
    expect(live.reason?.message).toMatch(/finished/);
    expect(linkedParent(live)).toBeUndefined();
    expect(done.state).toBe('live');
  });

  it('runs finalizers last-in-first-out with the outcome', () => {
    const ctx = new Context();
    const seen: string[] = [];
    ctx.defer((o) => seen.push(`1:${o.status}`));
    ctx.defer((o) => seen.push(`2:${o.status}`));
    ctx.kill();
    ctx.dispose();
    ctx.dispose();
    expect(seen).toEqual(['2:killed', '1:killed']);
  });

  it('defer on a disposed context runs at once', () => {
    const ctx = new Context();
    ctx.dispose();
    let status = '';
    ctx.defer((o) => {
      status = o.status;
    });
    expect(status).toBe('completed');
  });

  it('cancel after dispose: the state never changes again', () => {
    const ctx = new Context();
    let called = 0;
    ctx.onStop(() => called++);
    ctx.dispose();
    ctx.stop();
    ctx.kill();
    expect(ctx.state).toBe('live');
    expect(ctx.reason).toBeUndefined();
    expect(called).toBe(0);
  });

  it('dispose during cancel: callbacks captured at the transition still run exactly once', () => {
    const parent = new Context();
    const a = parent.child();
    const b = parent.child();
    let bCalls = 0;
    let bKillCalls = 0;
    a.onStop(() => b.dispose());
    b.onStop(() => bCalls++);
    b.onKill(() => bKillCalls++);
    parent.stop();
    expect(bCalls).toBe(1);
    parent.kill();
    expect(b.state).toBe('stopped');
    expect(bKillCalls).toBe(0);
  });

  it('a context disposing itself from its own stop callback finishes cleanly', async () => {
    const ctx = new Context();
    const outcome = ctx.outcome();
    ctx.onStop(() => ctx.dispose());
    ctx.stop('self');
    await expect(outcome).resolves.toMatchObject({ status: 'stopped' });
  });

  it('works with using', () => {
    const parent = new Context();
    let inner: Context;
    {
      using ctx = parent.child();
      inner = ctx;
    }
    expect(inner.disposed).toBe(true);
    expect(linkedChildren(parent)).toEqual([]);
  });
});

describe('callbacks', () => {
  it('onStop and onKill on a context already there run at once, synchronously', () => {
    const ctx = new Context();
    ctx.kill('k');
    const seen: string[] = [];
    const s = ctx.onStop((r) => seen.push(`stop:${r.message}`));
    ctx.onKill((r) => seen.push(`kill:${r.message}`));
    expect(seen).toEqual(['stop:k', 'kill:k']);
    s.dispose();
  });

  it('onKill does not run on a stop', () => {
    const ctx = new Context();
    let kills = 0;
    ctx.onKill(() => kills++);
    ctx.stop();
    expect(kills).toBe(0);
    ctx.kill();
    expect(kills).toBe(1);
  });

  it('a disposed registration is not called', () => {
    const ctx = new Context();
    let calls = 0;
    const registration = ctx.onStop(() => calls++);
    registration.dispose();
    ctx.stop();
    expect(calls).toBe(0);
  });

  it('callbacks that unregister themselves or others while running: the rest run in order', () => {
    const ctx = new Context();
    const seen: string[] = [];
    const subscriptions: Record<string, { dispose(): void }> = {};
    subscriptions.a = ctx.onStop(() => {
      seen.push('a');
      subscriptions.a!.dispose();
      subscriptions.b!.dispose();
      subscriptions.c!.dispose();
    });
    subscriptions.b = ctx.onStop(() => seen.push('b'));
    subscriptions.c = ctx.onStop(() => seen.push('c'));
    subscriptions.d = ctx.onStop(() => seen.push('d'));
    ctx.stop();
    expect(seen).toEqual(['a', 'd']);
  });

  it('registrations disposed in any order leave none behind', () => {
    const ctx = new Context();
    const subscriptions = Array.from({ length: 5 }, () => ctx.onStop(() => {}));
    for (const i of [2, 0, 4, 1, 3]) subscriptions[i]!.dispose();
    subscriptions[2]!.dispose();
    expect(registrationCount(ctx)).toBe(0);
    let calls = 0;
    ctx.onStop(() => calls++);
    ctx.stop();
    expect(calls).toBe(1);
  });

  it('a throwing callback does not stop the others, and its error is reported', () => {
    const ctx = new Context();
    const seen: number[] = [];
    ctx.onStop(() => seen.push(1));
    ctx.onStop(() => {
      throw new Error('boom');
    });
    ctx.onStop(() => seen.push(3));
    ctx.onKill(() => {
      throw new Error('kill boom');
    });
    ctx.kill();
    expect(seen).toEqual([1, 3]);
    expect(reports.errors.map((e) => [(e.error as Error).message, e.where])).toEqual([
      ['boom', 'an onStop callback'],
      ['kill boom', 'an onKill callback'],
    ]);
  });

  it('a throwing callback does not stop propagation to the rest of the tree', () => {
    const parent = new Context();
    const a = parent.child();
    const b = parent.child();
    a.onStop(() => {
      throw new Error('a');
    });
    let bSaw = false;
    b.onStop(() => {
      bSaw = true;
    });
    parent.stop();
    expect(bSaw).toBe(true);
    expect(reports.errors).toHaveLength(1);
  });

  it('finalizers that throw or reject are reported and the others still run', async () => {
    const ctx = new Context();
    const ran: number[] = [];
    ctx.defer(() => ran.push(1));
    ctx.defer(() => {
      throw new Error('sync');
    });
    ctx.defer(async () => {
      throw new Error('async');
    });
    ctx.dispose();
    await flush();
    expect(ran).toEqual([1]);
    expect(reports.errors.map((e) => (e.error as Error).message).sort()).toEqual(['async', 'sync']);
  });
});

describe('AbortSignal interop', () => {
  it('ctx.signal aborts with a CancelledError carrying the reason', () => {
    const ctx = new Context();
    const signal = ctx.signal;
    expect(signal.aborted).toBe(false);
    ctx.stop('user');
    expect(signal.aborted).toBe(true);
    expect(isCancelledError(signal.reason)).toBe(true);
    expect((signal.reason as CancelledError).reason.message).toBe('user');
  });

  it('a signal first read after the stop is already aborted', () => {
    const ctx = new Context();
    ctx.kill();
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal).toBe(ctx.signal);
  });

  it('follows an outside signal with one listener, removed on dispose', () => {
    const outside = new AbortController();
    const ctx = new Context({ signal: outside.signal });
    expect(getEventListeners(outside.signal, 'abort')).toHaveLength(1);
    ctx.dispose();
    expect(getEventListeners(outside.signal, 'abort')).toHaveLength(0);
    outside.abort();
    expect(ctx.state).toBe('live');
  });

  it('an outside abort stops the context with kind signal', () => {
    const outside = new AbortController();
    const ctx = new Context({ signal: outside.signal });
    outside.abort(new Error('client went away'));
    expect(ctx.reason).toMatchObject({ kind: 'signal' });
    expect(ctx.reason?.message).toMatch(/client went away/);
    expect(getEventListeners(outside.signal, 'abort')).toHaveLength(0);
  });

  it('an already aborted signal stops the context at once', () => {
    const ctx = new Context({ signal: AbortSignal.abort() });
    expect(ctx.state).toBe('stopped');
  });

  it('following another context’s signal keeps the original reason as cause', () => {
    const a = new Context();
    const b = new Context({ signal: a.signal });
    a.stop('origin');
    expect(b.reason?.cause?.message).toBe('origin');
  });
});

describe('errors', () => {
  it('throwIfStopped throws a CancelledError with the reason', () => {
    const ctx = new Context();
    expect(() => ctx.throwIfStopped()).not.toThrow();
    ctx.stop({ kind: 'deadline' });
    try {
      ctx.throwIfStopped();
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CancelledError);
      expect(isCancelledError(error)).toBe(true);
      expect((error as CancelledError).reason.kind).toBe('deadline');
      expect((error as CancelledError).code).toBe('ANDON_CANCELLED');
    }
  });

  it('isCancelledError recognises errors from another copy of the package', async () => {
    // The built copy is a different module instance with its own class.
    const built = new URL('../dist/errors.js', import.meta.url).href;
    const other = (await import(built)) as typeof import('../src/errors.js');
    expect(other.CancelledError).not.toBe(CancelledError);
    const error = new other.CancelledError({ kind: 'stop', message: 'x', origin: 'o', at: 0 });
    expect(isCancelledError(error)).toBe(true);
    expect(isCancelledError(new Error('cancelled'))).toBe(false);
    expect(isCancelledError(null)).toBe(false);
  });
});

describe('deadlines', () => {
  it('reaching the deadline stops with kind deadline', () => {
    const clock = new TestClock(0);
    const ctx = new Context({ clock, timeoutMs: 100 });
    expect(ctx.deadline).toBe(100);
    clock.advance(60);
    expect(ctx.remainingMs()).toBe(40);
    clock.advance(39);
    expect(ctx.state).toBe('live');
    clock.advance(1);
    expect(ctx.reason?.kind).toBe('deadline');
    expect(ctx.remainingMs()).toBe(0);
  });

  it('without a deadline remainingMs is Infinity', () => {
    expect(new Context().remainingMs()).toBe(Number.POSITIVE_INFINITY);
  });

  it('an absolute deadline and a timeout: the earlier wins', () => {
    const clock = new TestClock(1_000);
    expect(new Context({ clock, deadline: 1_050, timeoutMs: 100 }).deadline).toBe(1_050);
    expect(new Context({ clock, deadline: 5_000, timeoutMs: 100 }).deadline).toBe(1_100);
  });

  it('a deadline already past stops at once', () => {
    const clock = new TestClock(1_000);
    const ctx = new Context({ clock, deadline: 500 });
    expect(ctx.reason?.kind).toBe('deadline');
    expect(clock.pendingTimers).toBe(0);
  });

  it('a child’s deadline is the earlier of its own and its parent’s', () => {
    const clock = new TestClock(0);
    const parent = new Context({ clock, timeoutMs: 100 });
    expect(parent.child().deadline).toBe(100);
    expect(parent.child({ timeoutMs: 500 }).deadline).toBe(100);
    expect(parent.child({ timeoutMs: 50 }).deadline).toBe(50);
  });

  it('an inherited deadline costs no timer and reaches the child as kind parent', () => {
    const clock = new TestClock(0);
    const parent = new Context({ clock, timeoutMs: 100 });
    const child = parent.child();
    expect(clock.pendingTimers).toBe(1);
    clock.advance(100);
    expect(child.reason).toMatchObject({ kind: 'parent', cause: { kind: 'deadline' } });
  });

  it('an unlinked child with an inherited deadline arms its own timer', () => {
    const clock = new TestClock(0);
    const parent = new Context({ clock, timeoutMs: 100 });
    const child = new Context({ clock, deadline: 100 });
    const link = parent.linkChild(child);
    // Its own deadline equals the parent's, so the parent's timer enforces it.
    const inherited = parent.child();
    expect(clock.pendingTimers).toBe(2);
    link.dispose();
    inherited.dispose();
    parent.dispose();
    clock.advance(100);
    expect(child.reason?.kind).toBe('deadline');
  });

  it('stop and dispose clear the timer', () => {
    const clock = new TestClock(0);
    const a = new Context({ clock, timeoutMs: 100 });
    const b = new Context({ clock, timeoutMs: 100 });
    expect(clock.pendingTimers).toBe(2);
    a.stop();
    b.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  it('children inherit the clock', () => {
    const clock = new TestClock(0);
    const parent = new Context({ clock });
    const child = parent.child({ timeoutMs: 10 });
    expect(child.clock).toBe(clock);
    clock.advance(10);
    expect(child.reason?.kind).toBe('deadline');
    expect(parent.state).toBe('live');
  });

  it('with the system clock a real deadline stops the context', async () => {
    const ctx = new Context({ timeoutMs: 20 });
    await ctx.stopped();
    expect(ctx.reason?.kind).toBe('deadline');
  });
});

describe('kill after stop', () => {
  it('onKill callbacks receive the kill reason while ctx.reason keeps the first', () => {
    const parent = new Context();
    const child = parent.child();
    const seen: string[] = [];
    parent.onKill((reason) => seen.push(`parent:${reason.message}`));
    child.onKill((reason) => seen.push(`child:${reason.kind}:${reason.cause?.message}`));
    parent.stop({ kind: 'signal', message: 'first' });
    parent.kill({ kind: 'signal', message: 'second' });
    expect(seen).toEqual(['parent:second', 'child:parent:second']);
    expect(parent.reason?.message).toBe('first');
    expect(child.reason?.cause?.message).toBe('first');
  });
});
