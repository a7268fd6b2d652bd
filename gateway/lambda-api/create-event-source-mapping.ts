// CreateEventSourceMapping: POST /2015-03-31/event-source-mappings/: a DynamoDB
// stream read for a function. Answers 202 with State Creating; the gateway's next
// pass (at once) starts the pollers and settles it to Enabled (or Disabled).
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import {
  STARTING_POSITIONS,
  STREAM_LIMITS,
  type StartingPosition,
} from '../../lib/stream-trigger.ts';
import { lambdaErrors } from '../errors.ts';
import { StreamsError } from '../event-sources/streams-client.ts';
import type { Mapping } from '../event-sources/mapping.ts';
import type { ApiContext } from './context.ts';
import {
  COMMON_FIELDS,
  eventSources,
  functionField,
  mappingJson,
  settingsFields,
  windowLanes,
} from './event-source-fields.ts';
import { apiErrors } from './errors.ts';
import { jsonBody, knownFields, stringField } from './request.ts';

const ARN_PATTERN =
  /^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)$/;
const STREAM_ARN = /^arn:aws[a-zA-Z-]*:dynamodb:[^:]*:\d{12}:table\/[^/]+\/stream\/.+$/;

export function makeCreateEventSourceMapping(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const es = eventSources(ctx);
    const body = jsonBody(res);
    knownFields(body, [...COMMON_FIELDS, 'EventSourceArn', 'StartingPosition', 'Tags']);
    const name = stringField(body, 'FunctionName', 'functionName', { min: 1, max: 140 });
    if (name === undefined)
      throw lambdaErrors.validation('null', 'functionName', 'Member must not be null');
    const arn = stringField(body, 'EventSourceArn', 'eventSourceArn', {
      min: 12,
      max: 1024,
      pattern: ARN_PATTERN,
      patternText:
        'arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)',
    });
    if (arn === undefined) {
      throw lambdaErrors.invalidParameter(
        'Unrecognized event source, must be a DynamoDB stream ARN (Selfless reads table streams only).',
      );
    }
    if (!STREAM_ARN.test(arn)) {
      throw lambdaErrors.invalidParameter(
        `Unrecognized event source, must be a DynamoDB stream ARN: ${arn}`,
      );
    }
    const position = stringField(body, 'StartingPosition', 'startingPosition');
    if (position === undefined) {
      throw lambdaErrors.invalidParameter(
        'StartingPosition must be specified for a DynamoDB stream.',
      );
    }
    if (!['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'].includes(position)) {
      throw lambdaErrors.validation(
        position,
        'startingPosition',
        'Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]',
      );
    }
    if (!STARTING_POSITIONS.includes(position as StartingPosition)) {
      throw lambdaErrors.invalidParameter(
        'Unsupported starting position for a DynamoDB stream: AT_TIMESTAMP is for Kinesis only.',
      );
    }
    const fn = functionField(ctx, req, name);
    const settings = settingsFields(body);
    try {
      await es.streams.describeStream(arn);
    } catch (err) {
      if (err instanceof StreamsError && err.status < 500)
        throw lambdaErrors.invalidParameter(`Stream not found: ${arn}`);
      throw lambdaErrors.service(
        `The table service could not be reached: ${(err as Error).message}`,
      );
    }
    const m: Mapping = {
      uuid: randomUUID(),
      ...fn,
      eventSourceArn: arn,
      startingPosition: position as StartingPosition,
      batchSize: STREAM_LIMITS.batchSize.default,
      maximumBatchingWindowInSeconds: STREAM_LIMITS.maximumBatchingWindowInSeconds.default,
      parallelizationFactor: STREAM_LIMITS.parallelizationFactor.default,
      maximumRetryAttempts: STREAM_LIMITS.maximumRetryAttempts.default,
      maximumRecordAgeInSeconds: STREAM_LIMITS.maximumRecordAgeInSeconds.default,
      tumblingWindowInSeconds: STREAM_LIMITS.tumblingWindowInSeconds.default,
      bisectBatchOnFunctionError: false,
      functionResponseTypes: [],
      filters: [],
      enabled: true,
      ...settings,
      state: 'Creating',
      stateTransitionReason: 'USER_INITIATED',
      lastModified: es.clock(),
    };
    if (settings.onFailure === undefined) delete m.onFailure;
    windowLanes(m);
    const same =
      (await es.list()).find(
        (x) =>
          x.eventSourceArn === arn &&
          x.functionKey === m.functionKey &&
          x.qualifier === m.qualifier &&
          x.trigger !== undefined,
      )?.uuid ?? (await es.store.create(m));
    if (same !== undefined) {
      throw apiErrors.conflict(
        `The event source arn (" ${arn} ") and function (" ${name} ") provided mapping already exists. Please update or delete the existing mapping with UUID ${same}`,
      );
    }
    res.status(202).json(await mappingJson(ctx, m));
    void es.refresh();
  };
}
