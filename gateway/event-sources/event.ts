// What Lambda sends and writes for a DynamoDB stream mapping: the event a function
// receives (the Streams API's record plus eventSourceARN; a TTL deletion's
// userIdentity with Lambda's lowercase keys; with a tumbling window, the window and
// its state beside the records), the answer a function gives under
// ReportBatchItemFailures or in a window, and the record of a discarded batch for onFailure.
import { randomUUID } from 'node:crypto';
import type { InvocationResult } from '../../lib/worker-channel/channel.ts';
import type { StreamRecord } from './streams-client.ts';

export interface LambdaStreamRecord {
  eventID: string;
  eventName: string;
  eventVersion: string;
  eventSource: string;
  awsRegion: string;
  dynamodb: StreamRecord['dynamodb'];
  eventSourceARN: string;
  userIdentity?: { type: string; principalId: string };
}

export function lambdaRecord(r: StreamRecord, streamArn: string): LambdaStreamRecord {
  return {
    eventID: r.eventID,
    eventName: r.eventName,
    eventVersion: r.eventVersion,
    eventSource: r.eventSource,
    awsRegion: r.awsRegion,
    dynamodb: r.dynamodb,
    eventSourceARN: streamArn,
    ...(r.userIdentity && {
      userIdentity: { type: r.userIdentity.Type, principalId: r.userIdentity.PrincipalId },
    }),
  };
}

/**
 * The records a ReportBatchItemFailures answer says failed, as the lowest failed
 * sequence number; `undefined` means the whole batch succeeded, `'all'` that the
 * answer is not one Lambda accepts (then the whole batch failed, as on Lambda).
 */
export function batchItemFailure(
  payload: Buffer,
  batch: LambdaStreamRecord[],
): string | 'all' | undefined {
  const text = payload.toString('utf8').trim();
  if (text === '' || text === 'null') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'all';
  }
  if (v === null || typeof v !== 'object') return undefined;
  const list = (v as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) return 'all';
  if (list.length === 0) return undefined;
  const seqs = new Set(batch.map((r) => r.dynamodb.SequenceNumber));
  let lowest: string | undefined;
  for (const f of list) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !seqs.has(id)) return 'all';
    if (lowest === undefined || BigInt(id) < BigInt(lowest)) lowest = id;
  }
  return lowest;
}

const isoSeconds = (epochSeconds: number) =>
  new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The state of a tumbling window answer ({state: {...}, batchItemFailures}), or
 * undefined when it has none: Lambda counts such an answer as a failed invocation.
 */
export function windowState(payload: Buffer): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  const state = (v as { state?: unknown } | null)?.state;
  return state !== null && typeof state === 'object' && !Array.isArray(state)
    ? (state as Record<string, unknown>)
    : undefined;
}

/** Lambda's DynamodbTimeWindowEvent: the records beside their window and its state. */
export function windowEvent(args: {
  records: LambdaStreamRecord[];
  window: { start: number; end: number; state: Record<string, unknown> };
  shardId: string;
  streamArn: string;
  final: boolean;
  early: boolean;
}): string {
  return JSON.stringify({
    Records: args.records,
    window: { start: isoSeconds(args.window.start), end: isoSeconds(args.window.end) },
    state: args.window.state,
    shardId: args.shardId,
    eventSourceARN: args.streamArn,
    isFinalInvokeForWindow: args.final,
    isWindowTerminatedEarly: args.early,
  });
}

export type DiscardCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

export function failureRecord(args: {
  batch: LambdaStreamRecord[];
  shardId: string;
  streamArn: string;
  functionArn: string;
  condition: DiscardCondition;
  approximateInvokeCount: number;
  /** The last attempt's result when the function ran; else its status and error. */
  result?: InvocationResult;
  failure?: { statusCode: number };
  now: number;
}): string {
  const { batch } = args;
  const first = batch[0]!.dynamodb;
  const last = batch[batch.length - 1]!.dynamodb;
  const responseContext: Record<string, unknown> = {
    statusCode: args.result ? 200 : (args.failure?.statusCode ?? 500),
    executedVersion: '$LATEST',
  };
  if (args.result?.functionError) responseContext.functionError = args.result.functionError;
  return JSON.stringify({
    requestContext: {
      requestId: randomUUID(),
      functionArn: args.functionArn,
      condition: args.condition,
      approximateInvokeCount: args.approximateInvokeCount,
    },
    responseContext,
    version: '1.0',
    timestamp: new Date(args.now).toISOString(),
    DDBStreamBatchInfo: {
      shardId: args.shardId,
      startSequenceNumber: first.SequenceNumber,
      endSequenceNumber: last.SequenceNumber,
      approximateArrivalOfFirstRecord: isoSeconds(first.ApproximateCreationDateTime),
      approximateArrivalOfLastRecord: isoSeconds(last.ApproximateCreationDateTime),
      batchSize: batch.length,
      streamArn: args.streamArn,
    },
  });
}
