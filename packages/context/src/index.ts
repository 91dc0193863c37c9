export { type CancellableIterator, cancellable } from './cancellable.js';
export { type Clock, isClock, systemClock, TestClock, type TimerHandle } from './clock.js';
export { all, any, type Composition } from './compose.js';
export { type Predicate, type StopWhenOptions, stopWhen } from './condition.js';
export {
  type CancelCallback,
  type ChildOptions,
  Context,
  type ContextOptions,
  type ContextState,
  type Finalizer,
  type Outcome,
  type Subscription,
} from './context.js';
export { CancelledError, isCancelledError } from './errors.js';
export {
  type CancelReason,
  createReason,
  isStopKind,
  type ReasonInput,
  rootCause,
  STOP_KINDS,
  type StopKind,
} from './reason.js';
export { type ErrorReporter, setErrorReporter } from './report.js';
export { openSharedContext, SharedContext, type ShareOptions, shareContext } from './shared.js';
export { race, sleep } from './sleep.js';
export { type Task, TaskGroup, TaskGroupError } from './task-group.js';
