export { type Clock, systemClock, TestClock, type TimerHandle } from './clock.js';
export {
  type CancelCallback,
  type ChildOptions,
  Context,
  type ContextOptions,
  type ContextState,
  type Finalizer,
  type Outcome,
} from './context.js';
export { CancelledError, isCancelledError } from './errors.js';
export {
  type CancelReason,
  isStopKind,
  type ReasonInput,
  rootCause,
  STOP_KINDS,
  type StopKind,
} from './reason.js';
export { type ErrorReporter, setErrorReporter } from './report.js';
