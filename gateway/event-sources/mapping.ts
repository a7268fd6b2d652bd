// An event source mapping: a table stream read for a function. The Lambda API
// creates them (kept in the mapping store) and a Function's `dynamodbStream`
// triggers declare them (derived from the registry on every pass, never stored):
// both are this one shape, run by the same pollers and listed by the same API.
import { createHash } from 'node:crypto';
import type { DynamoDbStreamTrigger, StartingPosition } from '../../lib/stream-trigger.ts';

export type MappingState = 'Creating' | 'Enabled' | 'Disabled' | 'Updating' | 'Deleting';

export interface Mapping {
  uuid: string;
  /** The function's key (namespace/name) and the qualifier the mapping names, if any. */
  functionKey: string;
  qualifier?: string;
  /** The stream's ARN; for a trigger, the table's current stream (absent while it has none). */
  eventSourceArn?: string;
  /** Set for a trigger: the table named, and the function resource that declares it. */
  trigger?: { table: string };
  startingPosition: StartingPosition;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  parallelizationFactor: number;
  maximumRetryAttempts: number;
  maximumRecordAgeInSeconds: number;
  /** TumblingWindowInSeconds; 0 or absent (mappings stored before it existed): none. */
  tumblingWindowInSeconds?: number;
  bisectBatchOnFunctionError: boolean;
  functionResponseTypes: string[];
  /** Filter patterns, JSON text. */
  filters: string[];
  onFailure?: string;
  enabled: boolean;
  state: MappingState;
  stateTransitionReason: string;
  /** Epoch ms. */
  lastModified: number;
}

/** A trigger's mapping id: stable for a function and table, whatever else changes. */
export function triggerUuid(functionKey: string, table: string): string {
  const h = createHash('sha256').update(`dynamodbStream:${functionKey}:${table}`).digest('hex');
  // Shaped as a version-4 UUID so clients that check the form accept it.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function triggerMapping(
  functionKey: string,
  t: DynamoDbStreamTrigger,
  since: number,
): Mapping {
  return {
    uuid: triggerUuid(functionKey, t.table),
    functionKey,
    trigger: { table: t.table },
    startingPosition: t.startingPosition,
    batchSize: t.batchSize,
    maximumBatchingWindowInSeconds: t.maximumBatchingWindowInSeconds,
    parallelizationFactor: t.parallelizationFactor,
    maximumRetryAttempts: t.maximumRetryAttempts,
    maximumRecordAgeInSeconds: t.maximumRecordAgeInSeconds,
    tumblingWindowInSeconds: t.tumblingWindowInSeconds,
    bisectBatchOnFunctionError: t.bisectBatchOnFunctionError,
    functionResponseTypes: [...t.functionResponseTypes],
    filters: t.filterCriteria.filters.map((f) => f.pattern),
    ...(t.onFailure && { onFailure: t.onFailure.destination }),
    enabled: t.enabled,
    state: t.enabled ? 'Enabled' : 'Disabled',
    stateTransitionReason: 'Function resource',
    lastModified: since,
  };
}

/** Runs when enabled and settled (or being updated: the old settings run meanwhile). */
export function shouldRun(m: Mapping): boolean {
  return m.enabled && m.state !== 'Deleting' && m.state !== 'Disabled';
}
