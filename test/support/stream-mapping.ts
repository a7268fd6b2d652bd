// A stream event source mapping as the store keeps it, with Lambda's defaults, for
// the event-source tests: one stream ARN, Enabled, every setting overridable.
import { randomUUID } from 'node:crypto';
import type { Mapping } from '../../gateway/event-sources/mapping.ts';

export const STREAM_ARN =
  'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000';

export const streamMapping = (over: Partial<Mapping> = {}): Mapping => ({
  uuid: randomUUID(),
  functionKey: 'f',
  eventSourceArn: STREAM_ARN,
  startingPosition: 'TRIM_HORIZON',
  batchSize: 10,
  maximumBatchingWindowInSeconds: 0,
  parallelizationFactor: 1,
  maximumRetryAttempts: -1,
  maximumRecordAgeInSeconds: -1,
  bisectBatchOnFunctionError: false,
  functionResponseTypes: [],
  filters: [],
  enabled: true,
  state: 'Enabled',
  stateTransitionReason: 'USER_INITIATED',
  lastModified: 0,
  ...over,
});
