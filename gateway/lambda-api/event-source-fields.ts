// What the event source mapping actions share: the fields of Create/Update with
// Lambda's ranges, defaults and words, the EventSourceMappingConfiguration they
// answer, and the mapping a path's UUID names. Limits come from lib/stream-trigger.ts,
// so the API and a Function's dynamodbStream trigger accept the same values.
import type { Request } from 'express';
import { FilterPatternError, parsePattern } from '../../lib/filter-pattern.ts';
import { isObject } from '../../lib/parse.ts';
import { splitKey } from '../../lib/function.ts';
import { STREAM_LIMITS } from '../../lib/stream-trigger.ts';
import { parseDestination } from '../async/destinations.ts';
import { LambdaError, lambdaErrors } from '../errors.ts';
import { resolveKey } from '../invoke.ts';
import { functionArn } from '../invoker.ts';
import type { Mapping } from '../event-sources/mapping.ts';
import type { EventSources } from '../event-sources/service.ts';
import { callerNamespace, type ApiContext } from './context.ts';
import { apiErrors } from './errors.ts';
import { boolField, intField, objectField, stringField, stringList, type Body } from './request.ts';

export const ESM_PATH = '/2015-03-31/event-source-mappings';

/** The fields Create and Update both take. */
export const COMMON_FIELDS = [
  'FunctionName',
  'Enabled',
  'BatchSize',
  'FilterCriteria',
  'MaximumBatchingWindowInSeconds',
  'ParallelizationFactor',
  'DestinationConfig',
  'MaximumRecordAgeInSeconds',
  'BisectBatchOnFunctionError',
  'MaximumRetryAttempts',
  'TumblingWindowInSeconds',
  'FunctionResponseTypes',
] as const;

export const notFound = () =>
  new LambdaError(404, 'ResourceNotFoundException', 'The resource you requested does not exist.');

export function eventSources(ctx: ApiContext): EventSources {
  if (!ctx.eventSources) {
    throw lambdaErrors.notImplemented(
      'Event source mappings are not served: this gateway has no table service endpoint.',
    );
  }
  return ctx.eventSources;
}

/** The function a FunctionName names: its key and qualifier; it must exist. */
export function functionField(
  ctx: ApiContext,
  req: Request,
  raw: string,
): { functionKey: string; qualifier?: string } {
  const caller = callerNamespace(ctx, req);
  const ref = resolveKey(ctx.account, raw, undefined, caller);
  // A mapping is its function's account's (visible() lists it there alone): another
  // account's function is not found, as Lambda finds none outside the caller's account.
  if (
    ref.key === undefined ||
    splitKey(ref.key)[0] !== caller ||
    !ctx.registry.resolve(ref.key, ref.qualifier)
  ) {
    throw lambdaErrors.notFound(ref.arn);
  }
  return {
    functionKey: ref.key,
    ...(ref.qualifier !== undefined && ref.qualifier !== '$LATEST' && { qualifier: ref.qualifier }),
  };
}

/** The settings of a Create or Update body that are given; the rest stay as they are. */
export function settingsFields(body: Body): Partial<Mapping> {
  const out: Partial<Mapping> = {};
  const int = (field: string, member: string, range: { min: number; max: number }) =>
    intField(body, field, member, range);
  const batch = int('BatchSize', 'batchSize', STREAM_LIMITS.batchSize);
  if (batch !== undefined) out.batchSize = batch;
  const window = int(
    'MaximumBatchingWindowInSeconds',
    'maximumBatchingWindowInSeconds',
    STREAM_LIMITS.maximumBatchingWindowInSeconds,
  );
  if (window !== undefined) out.maximumBatchingWindowInSeconds = window;
  const par = int(
    'ParallelizationFactor',
    'parallelizationFactor',
    STREAM_LIMITS.parallelizationFactor,
  );
  if (par !== undefined) out.parallelizationFactor = par;
  const retries = int(
    'MaximumRetryAttempts',
    'maximumRetryAttempts',
    STREAM_LIMITS.maximumRetryAttempts,
  );
  if (retries !== undefined) out.maximumRetryAttempts = retries;
  const age = int(
    'MaximumRecordAgeInSeconds',
    'maximumRecordAgeInSeconds',
    STREAM_LIMITS.maximumRecordAgeInSeconds,
  );
  if (age !== undefined) {
    if (age >= 0 && age < STREAM_LIMITS.maximumRecordAgeInSeconds.lowest) {
      throw lambdaErrors.invalidParameter(
        'MaximumRecordAgeInSeconds must be -1 (infinite) or between 60 and 604800 seconds.',
      );
    }
    out.maximumRecordAgeInSeconds = age;
  }
  const tumbling = int(
    'TumblingWindowInSeconds',
    'tumblingWindowInSeconds',
    STREAM_LIMITS.tumblingWindowInSeconds,
  );
  if (tumbling !== undefined) out.tumblingWindowInSeconds = tumbling;
  const bisect = boolField(body, 'BisectBatchOnFunctionError');
  if (bisect !== undefined) out.bisectBatchOnFunctionError = bisect;
  const enabled = boolField(body, 'Enabled');
  if (enabled !== undefined) out.enabled = enabled;
  const types = stringList(body, 'FunctionResponseTypes');
  if (types !== undefined) {
    const bad = types.find((t) => t !== 'ReportBatchItemFailures');
    if (bad !== undefined || types.length > 1) {
      throw lambdaErrors.validation(
        `[${types.join(', ')}]`,
        'functionResponseTypes',
        'Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]',
      );
    }
    out.functionResponseTypes = types;
  }
  const fc = objectField(body, 'FilterCriteria', ['Filters']);
  if (fc) out.filters = filtersField(fc);
  const dc = objectField(body, 'DestinationConfig', ['OnFailure', 'OnSuccess']);
  if (dc) {
    if (dc.OnSuccess !== undefined && dc.OnSuccess !== null && Object.keys(dc.OnSuccess).length) {
      throw lambdaErrors.invalidParameter(
        'Unsupported DestinationConfig parameter for given event source mapping type.',
      );
    }
    const onFailure = objectField(dc, 'OnFailure', ['Destination'], 'DestinationConfig.');
    const d = onFailure && stringField(onFailure, 'Destination', 'destination', { max: 1024 });
    if (d === undefined || d === '') out.onFailure = undefined;
    else if (!parseDestination(d)) {
      throw lambdaErrors.invalidParameter(
        `The provided destination config DestinationConfig(OnFailure=${d}) is invalid: a destination is an SQS queue ARN, queue:<name>, or function:<name>.`,
      );
    } else out.onFailure = d;
  }
  return out;
}

/**
 * Lambda runs a tumbling window's shard in one order (one state per shard), so it
 * takes a window only with ParallelizationFactor 1. Its words were not found: ours.
 */
export function windowLanes(m: Pick<Mapping, 'tumblingWindowInSeconds' | 'parallelizationFactor'>) {
  if ((m.tumblingWindowInSeconds ?? 0) > 0 && m.parallelizationFactor > 1) {
    throw lambdaErrors.invalidParameter(
      'TumblingWindowInSeconds requires a ParallelizationFactor of 1.',
    );
  }
}

function filtersField(fc: Body): string[] {
  const list = fc.Filters;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw lambdaErrors.invalidJson('FilterCriteria.Filters must be a list');
  if (list.length > STREAM_LIMITS.filters) {
    throw lambdaErrors.invalidParameter(
      `The maximum number of filters per event source mapping is ${STREAM_LIMITS.filters}.`,
    );
  }
  return list.map((f: unknown) => {
    const pattern = isObject(f) ? f.Pattern : undefined;
    if (typeof pattern !== 'string' || pattern.length > STREAM_LIMITS.patternLength) {
      throw lambdaErrors.invalidParameter('Invalid filter pattern definition.');
    }
    try {
      parsePattern(pattern);
    } catch (err) {
      if (err instanceof FilterPatternError)
        throw lambdaErrors.invalidParameter('Invalid filter pattern definition.');
      throw err;
    }
    return pattern;
  });
}

/** The mapping the path's UUID names, among those the caller's namespace may see. */
export async function mappingOf(ctx: ApiContext, req: Request): Promise<Mapping> {
  const uuid = String(req.params.uuid);
  const m = await eventSources(ctx).get(uuid);
  if (!m || !visible(ctx, req, m)) throw notFound();
  return m;
}

export function visible(ctx: ApiContext, req: Request, m: Mapping): boolean {
  return splitKey(m.functionKey)[0] === callerNamespace(ctx, req);
}

/** A trigger's mapping is the Function resource's: the API does not change it. */
export function refuseTrigger(m: Mapping): void {
  if (m.trigger) {
    throw apiErrors.conflict(
      `The event source mapping ${m.uuid} is declared by a dynamodbStream trigger of function ${m.functionKey}: change the Function resource instead.`,
    );
  }
}

export async function mappingJson(ctx: ApiContext, m: Mapping): Promise<Record<string, unknown>> {
  const es = eventSources(ctx);
  const [namespace] = splitKey(m.functionKey);
  const accountId = ctx.account.accountIdFor?.(namespace!) ?? ctx.account.accountId;
  return {
    UUID: m.uuid,
    StartingPosition: m.startingPosition,
    BatchSize: m.batchSize,
    MaximumBatchingWindowInSeconds: m.maximumBatchingWindowInSeconds,
    ParallelizationFactor: m.parallelizationFactor,
    ...(m.eventSourceArn && { EventSourceArn: m.eventSourceArn }),
    ...(m.filters.length > 0 && {
      FilterCriteria: { Filters: m.filters.map((Pattern) => ({ Pattern })) },
    }),
    FunctionArn: functionArn(ctx.account, m.functionKey) + (m.qualifier ? `:${m.qualifier}` : ''),
    LastModified: m.lastModified / 1000,
    LastProcessingResult: (await es.lastResult(m.uuid)) ?? 'No records processed',
    State: m.state,
    StateTransitionReason: m.stateTransitionReason,
    DestinationConfig: { OnFailure: m.onFailure ? { Destination: m.onFailure } : {} },
    MaximumRecordAgeInSeconds: m.maximumRecordAgeInSeconds,
    BisectBatchOnFunctionError: m.bisectBatchOnFunctionError,
    MaximumRetryAttempts: m.maximumRetryAttempts,
    TumblingWindowInSeconds: m.tumblingWindowInSeconds ?? 0,
    FunctionResponseTypes: m.functionResponseTypes,
    EventSourceMappingArn: `arn:aws:lambda:${ctx.account.region}:${accountId}:event-source-mapping:${m.uuid}`,
  };
}
