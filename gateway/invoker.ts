// One synchronous invocation: admit it under the quotas, run it on an environment,
// account for it. The Invoke API, HTTP routes and the async dispatcher all come
// through here, so quotas and metrics are counted in exactly one place.
import { randomUUID } from 'node:crypto';
import type { FunctionDefinition } from '../lib/function.ts';
import type { InvocationResult } from '../lib/worker-channel.ts';
import { lambdaErrors, type LambdaError } from './errors.ts';
import type { WorkerHub } from './hub.ts';
import type { ConcurrencyLimiter } from './limiter.ts';
import type { GatewayMetrics } from './metrics.ts';

export interface InvokeRequest {
  payload: Buffer;
  clientContext?: string;
  traceId?: string;
  logTail?: boolean;
  requestId?: string;
}

export type InvokeOutcome =
  { ok: true; result: InvocationResult } | { ok: false; error: LambdaError };

export interface Account {
  region: string;
  accountId: string;
}

export function functionArn(account: Account, name: string): string {
  return `arn:aws:lambda:${account.region}:${account.accountId}:function:${name}`;
}

/** Seconds a throttled caller is told to wait (Retry-After). */
const RETRY_AFTER_SECONDS = 1;

export function makeInvoker(deps: {
  account: Account;
  limiter: ConcurrencyLimiter;
  hub: WorkerHub;
  metrics: GatewayMetrics;
}) {
  const { account, limiter, hub, metrics } = deps;

  return async function invoke(fn: FunctionDefinition, req: InvokeRequest): Promise<InvokeOutcome> {
    const admission = await limiter.acquire(fn.name, fn.spec.reservedConcurrentExecutions);
    if (!admission.ok) {
      metrics.throttles.inc({ function: fn.name, reason: admission.reason });
      metrics.invocations.inc({ function: fn.name, outcome: 'throttled' });
      return { ok: false, error: lambdaErrors.throttled(admission.reason, RETRY_AFTER_SECONDS) };
    }
    metrics.concurrent.inc({ function: fn.name });
    try {
      const pending = {
        requestId: req.requestId ?? randomUUID(),
        functionName: fn.name,
        functionArn: functionArn(account, fn.name),
        payload: req.payload,
        timeoutSeconds: fn.spec.timeout,
        logTail: req.logTail ?? false,
        enqueuedAt: Date.now(),
        ...(req.clientContext !== undefined && { clientContext: req.clientContext }),
        ...(req.traceId !== undefined && { traceId: req.traceId }),
      };
      const result = await hub.invoke(pending);
      record(fn, result);
      return { ok: true, result };
    } finally {
      admission.lease.release();
      metrics.concurrent.dec({ function: fn.name });
    }
  };

  function record(fn: FunctionDefinition, result: InvocationResult): void {
    let outcome = 'success';
    if (result.functionError) {
      outcome = /Task timed out after/.test(result.payload.toString('utf8', 0, 200))
        ? 'timeout'
        : 'function_error';
    }
    metrics.invocations.inc({ function: fn.name, outcome });
    metrics.duration.observe({ function: fn.name }, result.durationMs / 1000);
    if (result.initDurationMs !== undefined) {
      metrics.initDuration.observe({ function: fn.name }, result.initDurationMs / 1000);
    }
    metrics.billedGbSeconds.inc(
      { function: fn.name },
      (result.billedDurationMs / 1000) * (fn.spec.memorySize / 1024),
    );
  }
}

export type Invoker = ReturnType<typeof makeInvoker>;
