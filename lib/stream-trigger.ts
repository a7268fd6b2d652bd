// The `dynamodbStream` trigger of a Function: an event source mapping from a table's
// stream, declared in the resource. Its fields are CreateEventSourceMapping's in
// camelCase, with Lambda's limits and defaults (shared with the gateway's Lambda API,
// which checks the same numbers), except that it names the table, not its stream:
// the stream ARN changes each time a stream is enabled, the table's name does not.
import { parsePattern, FilterPatternError } from './filter-pattern.ts';
import { isObject, type Checker } from './parse.ts';

export const STREAM_LIMITS = {
  batchSize: { min: 1, max: 10000, default: 100 },
  maximumBatchingWindowInSeconds: { min: 0, max: 300, default: 0 },
  parallelizationFactor: { min: 1, max: 10, default: 1 },
  maximumRetryAttempts: { min: -1, max: 10000, default: -1 },
  /** -1 (records are kept until the stream trims them) or 60-604800. */
  maximumRecordAgeInSeconds: { min: -1, max: 604800, default: -1, lowest: 60 },
  /** 0: no tumbling window. */
  tumblingWindowInSeconds: { min: 0, max: 900, default: 0 },
  /** Lambda's quota of filters per mapping, and of a pattern's length. */
  filters: 5,
  patternLength: 4096,
} as const;

export const STARTING_POSITIONS = ['TRIM_HORIZON', 'LATEST'] as const;
export type StartingPosition = (typeof STARTING_POSITIONS)[number];

export interface DynamoDbStreamTrigger {
  table: string;
  startingPosition: StartingPosition;
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  parallelizationFactor: number;
  maximumRetryAttempts: number;
  maximumRecordAgeInSeconds: number;
  tumblingWindowInSeconds: number;
  bisectBatchOnFunctionError: boolean;
  functionResponseTypes: 'ReportBatchItemFailures'[];
  /** Each a Lambda filter pattern, JSON text. */
  filterCriteria: { filters: { pattern: string }[] };
  onFailure?: { destination: string };
  enabled: boolean;
}

export function parseDynamoDbStreamTrigger(
  raw: Record<string, unknown>,
  p: string,
  c: Checker,
): DynamoDbStreamTrigger | undefined {
  const errors = c.errors.length;
  const table = raw.table;
  if (typeof table !== 'string' || !/^[a-zA-Z0-9_.-]{3,255}$/.test(table))
    c.fail(`${p}.table`, 'must be a table name (3-255 of a-z A-Z 0-9 _ . -)');
  const start = raw.startingPosition ?? 'LATEST';
  if (!STARTING_POSITIONS.includes(start as StartingPosition))
    c.fail(`${p}.startingPosition`, `must be one of ${STARTING_POSITIONS.join(', ')}`);
  const int = (k: keyof typeof STREAM_LIMITS & string) => {
    const range = STREAM_LIMITS[k] as { min: number; max: number; default: number };
    return c.int(raw, k, `${p}.${k}`, range) ?? range.default;
  };
  const batchSize = int('batchSize');
  const window = int('maximumBatchingWindowInSeconds');
  const parallelization = int('parallelizationFactor');
  const retries = int('maximumRetryAttempts');
  const age = int('maximumRecordAgeInSeconds');
  const tumbling = int('tumblingWindowInSeconds');
  // As the API: a window's shard runs in one order, one state per shard.
  if (tumbling > 0 && parallelization > 1)
    c.fail(`${p}.tumblingWindowInSeconds`, 'requires parallelizationFactor 1');
  if (age >= 0 && age < STREAM_LIMITS.maximumRecordAgeInSeconds.lowest)
    c.fail(`${p}.maximumRecordAgeInSeconds`, 'must be -1 or between 60 and 604800');
  const bools: Record<string, boolean> = {};
  for (const k of ['bisectBatchOnFunctionError', 'reportBatchItemFailures', 'enabled']) {
    const v = raw[k];
    if (v !== undefined && typeof v !== 'boolean') c.fail(`${p}.${k}`, 'must be true or false');
    bools[k] = v === undefined ? k === 'enabled' : v === true;
  }
  let types: 'ReportBatchItemFailures'[] = bools.reportBatchItemFailures
    ? ['ReportBatchItemFailures']
    : [];
  if (raw.functionResponseTypes !== undefined) {
    const t = raw.functionResponseTypes;
    if (!Array.isArray(t) || t.some((x) => x !== 'ReportBatchItemFailures') || t.length > 1)
      c.fail(`${p}.functionResponseTypes`, 'must be [] or [ReportBatchItemFailures]');
    else if (t.length === 1) types = ['ReportBatchItemFailures'];
  }
  const filters: { pattern: string }[] = [];
  const fc = raw.filterCriteria;
  if (fc !== undefined) {
    const list = isObject(fc) ? fc.filters : undefined;
    if (!Array.isArray(list) || list.length > STREAM_LIMITS.filters) {
      c.fail(`${p}.filterCriteria.filters`, `must be a list of at most ${STREAM_LIMITS.filters}`);
    } else {
      list.forEach((f, i) => {
        const at = `${p}.filterCriteria.filters[${i}].pattern`;
        const pat = isObject(f) ? f.pattern : undefined;
        // A pattern is JSON text in Lambda's API; YAML lets it be written as an object.
        const text = typeof pat === 'string' ? pat : isObject(pat) ? JSON.stringify(pat) : '';
        if (text.length > STREAM_LIMITS.patternLength) {
          c.fail(at, `must be at most ${STREAM_LIMITS.patternLength} characters`);
          return;
        }
        try {
          parsePattern(text);
          filters.push({ pattern: text });
        } catch (err) {
          c.fail(at, err instanceof FilterPatternError ? err.message : 'is not a filter pattern');
        }
      });
    }
  }
  let onFailure: { destination: string } | undefined;
  if (raw.onFailure !== undefined) {
    const d = isObject(raw.onFailure) ? raw.onFailure.destination : raw.onFailure;
    if (typeof d !== 'string' || !/^(function:|queue:|arn:aws[a-zA-Z-]*:(lambda|sqs):)/.test(d))
      c.fail(`${p}.onFailure.destination`, 'must be a destination (queue:<name>, an SQS ARN)');
    else onFailure = { destination: d };
  }
  if (c.errors.length > errors) return undefined;
  return {
    table: table as string,
    startingPosition: start as StartingPosition,
    batchSize,
    maximumBatchingWindowInSeconds: window,
    parallelizationFactor: parallelization,
    maximumRetryAttempts: retries,
    maximumRecordAgeInSeconds: age,
    tumblingWindowInSeconds: tumbling,
    bisectBatchOnFunctionError: bools.bisectBatchOnFunctionError!,
    functionResponseTypes: types,
    filterCriteria: { filters },
    ...(onFailure && { onFailure }),
    enabled: bools.enabled!,
  };
}
