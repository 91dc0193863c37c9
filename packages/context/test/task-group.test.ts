import { describe, expect, it } from 'vitest';
import { Context, linkedChildren } from '../src/context.js';
import { CancelledError, isCancelledError } from '../src/errors.js';
import { sleep } from '../src/sleep.js';
import { TaskGroup, TaskGroupError } from '../src/task-group.js';
import { peek } from './helpers.js';

/** A task that runs until its context stops, then takes `cleanupMs` to clean up. */
function untilStopped(log: string[], name: string, cleanupMs = 5) {
  return async (ctx: Context) => {
    try {
      await sleep(60_000, ctx);
    } finally {
      await new Promise((resolve) => setTimeout(resolve, cleanupMs));
      log.push(`${name} cleaned up`);
    }
  };
}

describe('TaskGroup', () => {
  it('waits for every task and gives each its own child context', async () => {
    const outside = new Context({ id: 'req-9' });
    const group = new TaskGroup(outside);
    const ids: string[] = [];
    const a = group.spawn(async (ctx) => {
      ids.push(ctx.id);
      await sleep(5, ctx);
      return 'a';
    });
    const b = group.spawn((ctx) => {
      ids.push(ctx.id);
      return 'b';
    });
    await group.wait();
    expect([await a, await b]).toEqual(['a', 'b']);
    expect(ids).toEqual(['req-9', 'req-9']);
    expect(group.closed).toBe(true);
    expect(linkedChildren(outside)).toEqual([]);
    expect(outside.state).toBe('live');
  });

  it('the first failure stops the siblings and wait() waits for their cleanup', async () => {
    const log: string[] = [];
    const group = new TaskGroup(new Context());
    group.spawn(untilStopped(log, 'a'));
    group.spawn(untilStopped(log, 'b', 15));
    group.spawn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('boom');
    });
    const error = await group.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskGroupError);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as TaskGroupError).errors.map((e) => (e as Error).message)).toEqual(['boom']);
    expect((error as TaskGroupError).message).toMatch(/1 of 3 tasks failed; first: boom/);
    expect(log.sort()).toEqual(['a cleaned up', 'b cleaned up']);
    expect(group.context.reason).toMatchObject({ kind: 'error' });
  });

  it('aggregates every failure, including errors thrown during cleanup', async () => {
    const group = new TaskGroup();
    group.spawn(async () => {
      throw new Error('first');
    });
    group.spawn(async (ctx) => {
      await ctx.stopped();
      throw new Error('cleanup failed');
    });
    group.spawn(() => {
      throw new Error('sync throw');
    });
    const error = (await group.wait().catch((e: unknown) => e)) as TaskGroupError;
    expect(error.errors.map((e) => (e as Error).message).sort()).toEqual([
      'cleanup failed',
      'first',
      'sync throw',
    ]);
  });

  it('a stop from outside wins over the tasks’ errors', async () => {
    const outside = new Context();
    const group = new TaskGroup(outside);
    group.spawn(async (ctx) => {
      await ctx.stopped();
      throw new Error('ignored: the outside stop wins');
    });
    group.spawn(async (ctx) => sleep(60_000, ctx));
    setTimeout(() => outside.stop({ kind: 'disconnect', message: 'client left' }), 5);
    const error = await group.wait().catch((e: unknown) => e);
    expect(isCancelledError(error)).toBe(true);
    expect((error as CancelledError).reason).toBe(outside.reason);
  });

  it('an outside stop wins even when every task ignores it and succeeds', async () => {
    const outside = new Context();
    const group = new TaskGroup(outside);
    group.spawn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return 'done anyway';
    });
    outside.stop('abandon');
    await expect(group.wait()).rejects.toBeInstanceOf(CancelledError);
  });

  it('disposing the outside context while tasks run ends the group with a CancelledError', async () => {
    const outside = new Context();
    const group = new TaskGroup(outside);
    group.spawn(async (ctx) => sleep(60_000, ctx));
    outside.dispose();
    await expect(group.wait()).rejects.toSatisfy(
      (e) => isCancelledError(e) && (e as CancelledError).reason.kind === 'parent',
    );
  });

  it('cancel() stops the tasks and ends the group without an error', async () => {
    const log: string[] = [];
    const group = new TaskGroup(new Context());
    const task = group.spawn(untilStopped(log, 'a'));
    group.cancel();
    await expect(group.wait()).resolves.toBeUndefined();
    expect(log).toEqual(['a cleaned up']);
    await expect(task).rejects.toBeInstanceOf(CancelledError);
  });

  it('tasks may spawn tasks while the group waits', async () => {
    const group = new TaskGroup();
    const seen: string[] = [];
    group.spawn(async () => {
      await sleep(5, group.context);
      group.spawn(async () => {
        await sleep(5, group.context);
        seen.push('grandchild');
      });
    });
    await group.wait();
    expect(seen).toEqual(['grandchild']);
  });

  it('takes no tasks once ended, and a spawned promise’s rejection counts as handled', async () => {
    const group = new TaskGroup();
    group.spawn(async () => {
      throw new Error('x');
    });
    await expect(group.wait()).rejects.toBeInstanceOf(TaskGroupError);
    expect(() => group.spawn(async () => {})).toThrow(/has ended/);
  });

  it('an empty group ends at once', async () => {
    const group = new TaskGroup(new Context());
    expect(await peek(group.wait())).toBe('fulfilled');
  });

  it('await using cancels what still runs and waits for its cleanup', async () => {
    const log: string[] = [];
    const outside = new Context();
    {
      await using group = new TaskGroup(outside);
      group.spawn(untilStopped(log, 'a'));
    }
    expect(log).toEqual(['a cleaned up']);
    expect(linkedChildren(outside)).toEqual([]);
  });

  it('await using throws failures nobody received from wait()', async () => {
    const failing = async () => {
      await using group = new TaskGroup();
      const task = group.spawn(async () => {
        throw new Error('unseen');
      });
      // The task has failed before the group is disposed (its own promise is not wait()).
      await task.catch(() => {});
    };
    await expect(failing()).rejects.toBeInstanceOf(TaskGroupError);
  });

  it('a long-lived outside context keeps nothing after many groups', async () => {
    const outside = new Context();
    for (let i = 0; i < 1_000; i++) {
      const group = new TaskGroup(outside);
      group.spawn(async () => i);
      await group.wait();
    }
    expect(linkedChildren(outside)).toEqual([]);
  });

  it('rejects bad arguments', () => {
    expect(() => new TaskGroup({} as never)).toThrow(/new TaskGroup\(ctx\): ctx must be a Context/);
    expect(() => new TaskGroup().spawn('x' as never)).toThrow(
      /spawn\(task\): task must be a function/,
    );
  });
});
