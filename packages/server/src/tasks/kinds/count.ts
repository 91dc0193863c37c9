import { type Context, sleep } from '@andon/context';
import type { KindOptions, TaskHandler } from '@andon/tasks';
import { objectInput, wholeField } from './input.js';

/** The input of `demo/Count`. */
export interface CountInput {
  /** How far to count. Default 10. */
  n: number;
  /** Time between steps. Default 500. */
  intervalMs: number;
}

/**
 * `demo/Count { n, intervalMs }`: counts to `n`, one `progress` event `{ step, of }` per
 * step; the final value is `{ counted }`. A cancel stops it between steps.
 */
export const count: TaskHandler<CountInput, { counted: number }> = async function* (
  { n, intervalMs },
  ctx: Context,
) {
  for (let step = 1; step <= n; step++) {
    await sleep(intervalMs, ctx);
    yield { step, of: n };
  }
  return { counted: n };
};

export const countOptions: KindOptions<CountInput> = {
  validate(input) {
    const fields = objectInput(input, 'demo/Count', '{"n": 10, "intervalMs": 500}');
    return {
      n: wholeField(fields, 'n', 1, 1_000_000, 10),
      intervalMs: wholeField(fields, 'intervalMs', 0, 3_600_000, 500),
    };
  },
};
