// One synchronous invocation: admit it under the quotas, run it on an environment,
// account for it. The Invoke API, HTTP routes and the async dispatcher all come
// through here, so quotas and metrics are counted in exactly one place.
import { randomUUID } from 'node:crypto';
import { keyOf, splitKey, type FunctionDefinition, type RecursiveLoop } from '../lib/function.ts';
import type { Logger } from '../lib/log.ts';
import { lambdaArn } from '../lib/names.ts';
import type { InvocationResult } from '../lib/worker-channel/channel.ts';
import { lambdaErrors, type LambdaError } from './errors.ts';
import type { StreamConsumer, WorkerHub } from './hub.ts';
import type { ConcurrencyLimiter } from './limiter.ts';
import type { GatewayMetrics } from './metrics.ts';
import { RECURSION_LIMIT, nextHop } from './recursion.ts';
import { workerKeyOf } from './registry.ts';

export interface InvokeRequest {
  payload: Buffer;
  clientContext?: string;
  /** The caller's X-Ray trace header; the invocation runs with the next hop of it. */
  traceId?: string;
  logTail?: boolean;
  requestId?: string;
  /** Takes a response the runtime streams as it comes (else it arrives buffered). */
  onStream?: StreamConsumer;
}

export type InvokeOutcome =
  { ok: true; result: InvocationResult } | { ok: false; error: LambdaError };

export interface Account {
  region: string;
  accountId: string;
  /** Cluster mode: each namespace is an account (docs/kubernetes.md). */
  accountIdFor?: (namespace: string) => string;
  /** Cluster mode: the namespace an account id of an ARN names, if any. */
  namespaceFor?: (accountId: string) => string | undefined;
}

/** The ARN of the function known by `key` (see functionKey). */
export function functionArn(account: Account, key: string): string {
  const [namespace, name] = splitKey(key);
  const id = account.accountIdFor?.(namespace) ?? account.accountId;
  return lambdaArn(account.region, id, name);
}

/** Seconds a throttled caller is told to wait (Retry-After). */
const RETRY_AFTER_SECONDS = 1;

export function makeInvoker(deps: {
  account: Account;
  limiter: ConcurrencyLimiter;
  hub: WorkerHub;
  metrics: GatewayMetrics;
  /** Put/GetFunctionRecursionConfig's setting; read only for a chain past the limit. */
  recursiveLoop?: (fn: FunctionDefinition) => Promise<RecursiveLoop>;
  log?: Logger;
}) {
  const { account, limiter, hub, metrics } = deps;

  return async function invoke(fn: FunctionDefinition, req: InvokeRequest): Promise<InvokeOutcome> {
    const key = keyOf(fn);
    const hop = nextHop(req.traceId, functionArn(account, key), Date.now());
    if (hop.count > RECURSION_LIMIT && (await deps.recursiveLoop?.(fn)) !== 'Allow') {
      metrics.recursiveDropped.inc({ function: key });
      deps.log?.warn('recursive invocation dropped', {
        function: key,
        invocations: hop.count - 1,
        traceId: hop.header,
      });
      return { ok: false, error: lambdaErrors.recursiveInvocation() };
    }
    const admission = await limiter.acquire(key, fn.spec.reservedConcurrentExecutions);
    if (!admission.ok) {
      metrics.throttles.inc({ function: key, reason: admission.reason });
      metrics.invocations.inc({ function: key, outcome: 'throttled' });
      return { ok: false, error: lambdaErrors.throttled(admission.reason, RETRY_AFTER_SECONDS) };
    }
    metrics.concurrent.inc({ function: key });
    try {
      const pending = {
        requestId: req.requestId ?? randomUUID(),
        // A version's environments are its own: they run its snapshot, not $LATEST.
        functionName: workerKeyOf(fn),
        functionArn: functionArn(account, key) + (fn.version ? `:${fn.version}` : ''),
        payload: req.payload,
        timeoutSeconds: fn.spec.timeout,
        logTail: req.logTail ?? false,
        enqueuedAt: Date.now(),
        ...(req.clientContext !== undefined && { clientContext: req.clientContext }),
        traceId: hop.header,
      };
      const result = await hub.invoke(pending, req.onStream);
      record(fn, result);
      return { ok: true, result };
    } finally {
      admission.lease.release();
      metrics.concurrent.dec({ function: key });
    }
  };

  function record(fn: FunctionDefinition, result: InvocationResult): void {
    const key = keyOf(fn);
    let outcome = 'success';
    if (result.functionError) {
      outcome = /Task timed out after/.test(result.payload.toString('utf8', 0, 200))
        ? 'timeout'
        : 'function_error';
    }
    metrics.invocations.inc({ function: key, outcome });
    metrics.duration.observe({ function: key }, result.durationMs / 1000);
    if (result.initDurationMs !== undefined) {
      metrics.initDuration.observe({ function: key }, result.initDurationMs / 1000);
    }
    metrics.billedGbSeconds.inc(
      { function: key },
      (result.billedDurationMs / 1000) * (fn.spec.memorySize / 1024),
    );
  }
}

export type Invoker = ReturnType<typeof makeInvoker>;
