import { isTerminal, type TaskManager, type TaskRecord } from '@andon/tasks';
import { mayAccess, type Principal } from '../auth/principal.js';
import { preciseNow } from '../time.js';
import { type InterruptContext, ProtocolError, type QueueServerMessage } from './protocol.js';

/** The origins of the reasons a queue socket stops tasks with (they show in `reason.origin`). */
export const INTERRUPT_ORIGIN = 'interrupt';
export const CANCEL_ORIGIN = 'cancel_request';

/** The message of an interrupt: `Analysis interrupted by user` for context `analysis`. */
export function interruptMessage(context: InterruptContext): string {
  return `${context[0]!.toUpperCase()}${context.slice(1)} interrupted by user`;
}

/**
 * The task behind `request_id` if `principal` may act on it.
 *
 * @throws ProtocolError "no request …" or "… belongs to another user".
 */
export async function ownedRequest(
  tasks: TaskManager,
  principal: Principal,
  id: string,
): Promise<TaskRecord> {
  const task = await tasks.find(id);
  if (task === undefined) {
    throw new ProtocolError(
      `no request ${id} (it never existed, or it finished longer ago than the server keeps requests)`,
      id,
    );
  }
  if (!mayAccess(principal, task.owner)) {
    throw new ProtocolError(`request ${id} belongs to another user`, id);
  }
  return task;
}

/**
 * `cancel_request` and `interrupt`, which are one action answered two ways: a queued request
 * leaves the queue (`request_cancelled`), a running one has its Context stopped (an `error`
 * carrying `context`; `cancel_request` of a running request counts as context `generation`).
 * A finished one is left alone and the answer says so.
 *
 * @throws ProtocolError for an unknown request or one of another user.
 */
export async function stopRequest(
  tasks: TaskManager,
  principal: Principal,
  id: string,
  context: InterruptContext | undefined,
): Promise<QueueServerMessage> {
  const task = await ownedRequest(tasks, principal, id);
  if (isTerminal(task.status)) return alreadyFinished(task);
  const { app, model } = task;
  if (task.status === 'queued') {
    const reason = { kind: 'stop' as const, message: 'Cancelled by user', origin: CANCEL_ORIGIN };
    if (await tasks.cancelTask(app, model, id, { reason: { ...reason, at: preciseNow() } })) {
      return { type: 'request_cancelled', request_id: id };
    }
  } else {
    const word = context ?? 'generation';
    const message = interruptMessage(word);
    const reason = { kind: 'stop' as const, message, origin: INTERRUPT_ORIGIN, at: preciseNow() };
    if (await tasks.cancelTask(app, model, id, { reason })) {
      return { type: 'error', request_id: id, error: message, context: word };
    }
  }
  // It ended on its own between the lookup and the cancel.
  const now = await tasks.find(id);
  return now === undefined || isTerminal(now.status)
    ? alreadyFinished(now ?? task)
    : { type: 'error', request_id: id, error: `request ${id} could not be stopped` };
}

function alreadyFinished(task: TaskRecord): QueueServerMessage {
  return {
    type: 'error',
    request_id: task.id,
    error: `request ${task.id} is already finished (${task.status})`,
  };
}
