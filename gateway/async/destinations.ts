// Destinations and Lambda's destination record. A destination is
// `function:<name>` (or a Lambda function ARN): the record becomes an async event
// of that function; or `queue:<name>` (or an SQS queue ARN): the record is pushed
// on the Redis list <prefix>:queue:<name>. Delivery happens inside the same atomic
// step that completes or dead-letters the event (see lua/completeEvent.lua).
import { functionKey, splitKey } from '../../lib/function.ts';
import { randomUUID } from 'node:crypto';
import type { InvocationResult } from '../../lib/worker-channel/channel.ts';
import type { DeadCondition, Delivery, QueuedEvent } from './store.ts';

export type Target = { kind: 'function'; name: string } | { kind: 'queue'; name: string };

const LAMBDA_ARN = /^arn:aws[a-zA-Z-]*:lambda:[^:]*:[^:]*:function:([a-zA-Z0-9-_]+)(:\$LATEST)?$/;
const SQS_ARN = /^arn:aws[a-zA-Z-]*:sqs:[^:]*:[^:]*:([a-zA-Z0-9-_.]+)$/;
const NAME = /^[a-zA-Z0-9-_.]{1,80}$/;

export function parseDestination(d: string): Target | undefined {
  let m = /^function:(.+)$/.exec(d) ?? LAMBDA_ARN.exec(d);
  if (m && /^[a-zA-Z0-9-_]{1,64}$/.test(m[1]!)) return { kind: 'function', name: m[1]! };
  m = /^queue:(.+)$/.exec(d) ?? SQS_ARN.exec(d);
  if (m && NAME.test(m[1]!)) return { kind: 'queue', name: m[1]! };
  return undefined;
}

export type Condition = 'Success' | DeadCondition;

function jsonOrText(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** What the last attempt produced, when it produced nothing from the function. */
export interface LastFailure {
  statusCode: number;
  errorType: string;
  errorMessage: string;
}

export function destinationRecord(args: {
  event: QueuedEvent;
  functionArn: string;
  condition: Condition;
  approximateInvokeCount: number;
  result?: InvocationResult;
  failure?: LastFailure;
  now: number;
}): string {
  const { event, result, failure } = args;
  const responseContext: Record<string, unknown> = {
    statusCode: result ? 200 : (failure?.statusCode ?? 500),
    executedVersion: '$LATEST',
  };
  if (result?.functionError) responseContext.functionError = result.functionError;
  let responsePayload: unknown = null;
  if (result) responsePayload = jsonOrText(result.payload.toString('utf8'));
  else if (failure) {
    responsePayload = { errorType: failure.errorType, errorMessage: failure.errorMessage };
  }
  return JSON.stringify({
    version: '1.0',
    timestamp: new Date(args.now).toISOString(),
    requestContext: {
      requestId: event.requestId,
      functionArn: `${args.functionArn}:$LATEST`,
      condition: args.condition,
      approximateInvokeCount: args.approximateInvokeCount,
    },
    requestPayload: jsonOrText(event.payload),
    responseContext,
    responsePayload,
  });
}

/**
 * A destination function lives in the namespace of the function whose event this was
 * (the key `namespace/name` in cluster mode; the bare name in `default`).
 */
export function delivery(
  target: Target | undefined,
  record: string,
  sourceKey = '',
  traceId?: string,
): Delivery | undefined {
  if (!target) return undefined;
  if (target.kind === 'queue') return { kind: 'queue', queue: target.name, record };
  return {
    kind: 'function',
    functionName: destinationKey(target, sourceKey),
    id: randomUUID(),
    record,
    ...(traceId !== undefined && { traceId }),
  };
}

/** The key of a function destination, in the source function's namespace. */
export function destinationKey(target: { name: string }, sourceKey: string): string {
  const [namespace] = splitKey(sourceKey);
  return functionKey(namespace, target.name);
}
