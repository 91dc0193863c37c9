import { Context } from './context.js';
import { describeArgument } from './describe-argument.js';

// Shared argument checks, so every entry point names the argument it rejects.

export function assertContext(
  value: unknown,
  where: string,
  name = 'ctx',
): asserts value is Context {
  if (!(value instanceof Context)) {
    throw new TypeError(`${where}: ${name} must be a Context, got ${describeArgument(value)}`);
  }
}

export function assertFunction(value: unknown, where: string, name: string): void {
  if (typeof value !== 'function') {
    throw new TypeError(`${where}: ${name} must be a function, got ${describeArgument(value)}`);
  }
}

export function assertDuration(
  value: unknown,
  where: string,
  name: string,
): asserts value is number {
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
    throw new TypeError(
      `${where}: ${name} must be a finite number >= 0, got ${describeArgument(value)}`,
    );
  }
}
