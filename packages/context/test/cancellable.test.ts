import { describe, expect, it } from 'vitest';
import { cancellable } from '../src/cancellable.js';
import { Context, registrationCount } from '../src/context.js';
import { CancelledError, isCancelledError } from '../src/errors.js';
import { captureReports, flush } from './helpers.js';

const reports = captureReports();

/** A source that yields `ready` items, then hangs in an await until released. */
function stuckSource(ready: number) {
  const state = { returned: false, finallyRan: false, release: () => {} };
  async function* gen() {
    try {
      for (let i = 0; i < ready; i++) yield i;
      await new Promise<void>((resolve) => {
        state.release = resolve;
      });
      yield -1;
    } finally {
      state.finallyRan = true;
    }
  }
  const it = gen();
  const originalReturn = it.return.bind(it);
  it.return = (value) => {
    state.returned = true;
    return originalReturn(value);
  };
  return { iterable: { [Symbol.asyncIterator]: () => it }, state };
}

describe('cancellable', () => {
  it('passes items through and ends normally', async () => {
    const ctx = new Context();
    const items: number[] = [];
    for await (const item of cancellable([1, 2, 3], ctx)) items.push(item);
    expect(items).toEqual([1, 2, 3]);
    expect(registrationCount(ctx)).toBe(0);
  });

  it('a stop ends the loop while the source is stuck, and calls the source’s return()', async () => {
    const ctx = new Context();
    const { iterable, state } = stuckSource(2);
    const items: number[] = [];
    const loop = (async () => {
      for await (const item of cancellable(iterable, ctx)) {
        items.push(item);
        if (items.length === 2) setTimeout(() => ctx.stop('enough'), 5);
      }
    })();
    await expect(loop).rejects.toSatisfy(
      (e) => isCancelledError(e) && (e as CancelledError).reason.message === 'enough',
    );
    expect(items).toEqual([0, 1]);
    expect(state.returned).toBe(true);
    // The generator's finally runs once its stuck await settles (the language queues it).
    state.release();
    await flush(10);
    expect(state.finallyRan).toBe(true);
    expect(registrationCount(ctx)).toBe(0);
  });

  it('breaking out of the loop calls the source’s return()', async () => {
    const ctx = new Context();
    const { iterable, state } = stuckSource(5);
    for await (const item of cancellable(iterable, ctx)) if (item === 1) break;
    expect(state.returned).toBe(true);
    expect(state.finallyRan).toBe(true);
    expect(registrationCount(ctx)).toBe(0);
  });

  it('a stopped context ends the loop before the source is opened', async () => {
    const ctx = new Context();
    ctx.stop();
    let opened = false;
    const iterable = {
      [Symbol.asyncIterator]() {
        opened = true;
        return [][Symbol.iterator]() as unknown as AsyncIterator<number>;
      },
    };
    await expect(cancellable(iterable, ctx).next()).rejects.toBeInstanceOf(CancelledError);
    expect(opened).toBe(false);
  });

  it('after the end, next() keeps saying done', async () => {
    const ctx = new Context();
    const it = cancellable([1], ctx);
    expect(await it.next()).toEqual({ done: false, value: 1 });
    expect((await it.next()).done).toBe(true);
    ctx.stop();
    expect((await it.next()).done).toBe(true);
  });

  it('source errors pass through unchanged', async () => {
    const ctx = new Context();
    async function* failing() {
      yield 1;
      throw new Error('source broke');
    }
    const items: number[] = [];
    await expect(
      (async () => {
        for await (const item of cancellable(failing(), ctx)) items.push(item);
      })(),
    ).rejects.toThrow('source broke');
    expect(items).toEqual([1]);
  });

  it('a return() that throws on cancel is reported, not lost', async () => {
    const ctx = new Context();
    const iterable = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<number>>(() => {}),
        return: async () => {
          throw new Error('return failed');
        },
      }),
    };
    const it = cancellable(iterable, ctx);
    const pending = it.next();
    ctx.stop();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    await flush();
    expect(reports.errors.map((e) => (e.error as Error).message)).toEqual(['return failed']);
  });

  it('rejects a non-iterable and a non-context', () => {
    expect(() => cancellable(5 as never, new Context())).toThrow(
      /iterable must be an async or sync iterable/,
    );
    expect(() => cancellable([], 'ctx' as never)).toThrow(/ctx must be a Context/);
  });
});
