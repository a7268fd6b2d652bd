// Lambda's retry rules for asynchronous invocations, decided in one place.
// Function errors (including timeouts) are retried maximumRetryAttempts times,
// about 1 minute and then 2 minutes apart. Throttles and system errors are retried
// with exponential backoff from 1 second to 5 minutes, for as long as the event is
// younger than maximumEventAgeInSeconds. Either way an event that would be too old
// by its next attempt is not kept waiting for nothing: it dies now.
import type { FunctionEventInvokeConfig } from '../../lib/function.ts';
import type { DeadCondition, QueuedEvent, RetryUpdate } from './store.ts';

export interface RetryDelays {
  /** Delay before each retry after a function error (Lambda: ~1 min, then ~2 min). */
  functionErrorMs: number[];
  /** First backoff after a throttle or system error (Lambda: 1 s). */
  backoffBaseMs: number;
  /** Longest backoff (Lambda: 5 min). */
  backoffMaxMs: number;
}

export const LAMBDA_DELAYS: RetryDelays = {
  functionErrorMs: [60_000, 120_000],
  backoffBaseMs: 1_000,
  backoffMaxMs: 300_000,
};

export type AttemptOutcome =
  | { kind: 'success' }
  | { kind: 'function_error'; message: string }
  | { kind: 'throttle'; message: string }
  | { kind: 'system_error'; message: string };

export type RetryCause = Exclude<AttemptOutcome['kind'], 'success'>;

export type Decision =
  | { action: 'complete' }
  | { action: 'retry'; cause: RetryCause; dueAt: number; update: RetryUpdate }
  | { action: 'dead'; condition: DeadCondition };

/** Too old to run at all: checked before an attempt, so stale events never run. */
export function expired(e: QueuedEvent, cfg: FunctionEventInvokeConfig, now: number): boolean {
  return now - e.enqueuedAt >= cfg.maximumEventAgeInSeconds * 1000;
}

/** `invoked`: the attempt reached the function (a throttle did not). */
export function decide(
  e: QueuedEvent,
  outcome: AttemptOutcome,
  cfg: FunctionEventInvokeConfig,
  delays: RetryDelays,
  now: number,
): Decision {
  if (outcome.kind === 'success') return { action: 'complete' };
  const invokes = e.invokes + (outcome.kind === 'throttle' ? 0 : 1);
  let delay: number;
  let functionErrors = e.functionErrors;
  let systemRetries = e.systemRetries;
  if (outcome.kind === 'function_error') {
    functionErrors++;
    if (functionErrors > cfg.maximumRetryAttempts) {
      return { action: 'dead', condition: 'RetriesExhausted' };
    }
    const table = delays.functionErrorMs;
    delay = table[Math.min(functionErrors - 1, table.length - 1)] ?? 0;
  } else {
    delay = Math.min(delays.backoffBaseMs * 2 ** systemRetries, delays.backoffMaxMs);
    systemRetries++;
  }
  const dueAt = now + delay;
  if (dueAt - e.enqueuedAt >= cfg.maximumEventAgeInSeconds * 1000) {
    return { action: 'dead', condition: 'EventAgeExceeded' };
  }
  return {
    action: 'retry',
    cause: outcome.kind,
    dueAt,
    update: { invokes, functionErrors, systemRetries, lastError: outcome.message.slice(0, 1000) },
  };
}
