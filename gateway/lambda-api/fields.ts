// The configuration and code members CreateFunction, UpdateFunctionConfiguration and
// UpdateFunctionCode share, checked in Lambda's words and turned into a Function
// spec (lib/function.ts) plus the catalog's fields.
import {
  environmentBytes,
  LIMITS,
  parseFunctionSpec,
  RUNTIMES,
  type FunctionCode,
  type FunctionSpec,
  type Runtime,
} from '../../lib/function.ts';
import { RESERVED_VARIABLES } from '../../lib/lambda-environment.ts';
import {
  APPLICATION_LOG_LEVELS,
  LEVELS_NEED_JSON,
  LOG_FORMATS,
  LOG_GROUP_MAX,
  LOG_GROUP_PATTERN,
  SYSTEM_LOG_LEVELS,
  type LoggingConfig,
} from '../../lib/logging-config.ts';
import { formatErrors } from '../../lib/parse.ts';
import {
  SNAP_START_APPLY_ON,
  snapStartRefusal,
  type SnapStartApplyOn,
} from '../../lib/snap-start.ts';
import { readZip, UNZIPPED_MAX_MB, ZipError } from '../../lib/zip.ts';
import { lambdaErrors } from '../errors.ts';
import type { FunctionMeta } from './catalog.ts';
import { intField, objectField, stringField, stringList, stringMap, type Body } from './request.ts';

/** Members UpdateFunctionConfiguration takes (CreateFunction takes these too). */
export const CONFIG_FIELDS = [
  'Role',
  'Handler',
  'Description',
  'Timeout',
  'MemorySize',
  'VpcConfig',
  'Environment',
  'Runtime',
  'DeadLetterConfig',
  'KMSKeyArn',
  'TracingConfig',
  'Layers',
  'FileSystemConfigs',
  'ImageConfig',
  'EphemeralStorage',
  'SnapStart',
  'LoggingConfig',
  'CapacityProviderConfig',
  'DurableConfig',
] as const;

/** Accepted and reported back by GetFunction; nothing here acts on them. */
const PASSTHROUGH = [
  'VpcConfig',
  'DeadLetterConfig',
  'KMSKeyArn',
  'TracingConfig',
  'FileSystemConfigs',
  'ImageConfig',
  'CapacityProviderConfig',
  'DurableConfig',
] as const;

const ROLE_PATTERN = /^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;

export interface ConfigChange {
  spec: Partial<FunctionSpec>;
  meta: Partial<FunctionMeta>;
}

function runtimeOf(body: Body): Runtime | undefined {
  const r = body.Runtime;
  if (r === undefined || r === null) return undefined;
  if (RUNTIMES.includes(r as Runtime)) return r as Runtime;
  throw lambdaErrors.validation(
    String(r),
    'runtime',
    `Member must satisfy enum value set: [${RUNTIMES.join(', ')}] or be a valid ARN`,
  );
}

/**
 * The configuration members present in `body` (absent ones are left as they are);
 * `current` and `currentLogging` are those of the function being updated.
 */
export function configChange(
  body: Body,
  current: FunctionMeta | undefined,
  currentLogging?: LoggingConfig,
): ConfigChange {
  const spec: Partial<FunctionSpec> = {};
  const meta: Partial<FunctionMeta> = {};
  const runtime = runtimeOf(body);
  if (runtime) {
    spec.runtime = runtime;
    // Runtime names Selfless once mapped to `provided` were kept here to be reported.
    if (current?.passthrough?.Runtime !== undefined) {
      meta.passthrough = { ...current.passthrough };
      delete meta.passthrough.Runtime;
    }
  }
  const handler = stringField(body, 'Handler', 'handler', { max: 128, pattern: /^[^\s]+$/ });
  if (handler !== undefined) spec.handler = handler;
  const role = stringField(body, 'Role', 'role', {
    pattern: ROLE_PATTERN,
    patternText: 'arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+',
  });
  if (role !== undefined) meta.role = role;
  const description = stringField(body, 'Description', 'description', { max: 256 });
  if (description !== undefined) meta.description = description;
  const timeout = intField(body, 'Timeout', 'timeout', { min: 1, max: 900 });
  if (timeout !== undefined) spec.timeout = timeout;
  const memory = intField(body, 'MemorySize', 'memorySize', { min: 128, max: 10240 });
  if (memory !== undefined) spec.memorySize = memory;

  const env = objectField(body, 'Environment', ['Variables']);
  if (env) {
    const variables = stringMap(env, 'Variables') ?? {};
    const reserved = Object.keys(variables).filter((k) => RESERVED_VARIABLES.has(k));
    if (reserved.length > 0) {
      throw lambdaErrors.invalidParameter(
        `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
      );
    }
    if (environmentBytes(variables) > 4096) {
      throw lambdaErrors.invalidParameter(
        `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${JSON.stringify(variables)}`,
      );
    }
    for (const k of Object.keys(variables)) {
      if (!/^[a-zA-Z]([a-zA-Z0-9_])+$/.test(k)) {
        throw lambdaErrors.validation(
          k,
          'environment.variables',
          'Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]',
        );
      }
    }
    spec.environment = { variables };
  }
  const storage = objectField(body, 'EphemeralStorage', ['Size']);
  if (storage) {
    const size = intField(storage, 'Size', 'ephemeralStorage.size', { min: 512, max: 10240 });
    if (size === undefined) throw lambdaErrors.invalidJson('EphemeralStorage.Size is required');
    spec.ephemeralStorage = { size };
  }
  // Lambda Managed Instances: how many events one environment runs at once.
  const capacity = objectField(body, 'CapacityProviderConfig', [
    'LambdaManagedInstancesCapacityProviderConfig',
  ]);
  const managed =
    capacity &&
    objectField(
      capacity,
      'LambdaManagedInstancesCapacityProviderConfig',
      [
        'CapacityProviderArn',
        'ExecutionEnvironmentMemoryGiBPerVCpu',
        'PerExecutionEnvironmentMaxConcurrency',
      ],
      'CapacityProviderConfig.',
    );
  const perEnvironment =
    managed &&
    intField(
      managed,
      'PerExecutionEnvironmentMaxConcurrency',
      'capacityProviderConfig.lambdaManagedInstancesCapacityProviderConfig.perExecutionEnvironmentMaxConcurrency',
      LIMITS.perExecutionEnvironmentMaxConcurrency,
    );
  if (perEnvironment !== undefined) spec.perExecutionEnvironmentMaxConcurrency = perEnvironment;
  const snapStart = objectField(body, 'SnapStart', ['ApplyOn']);
  if (snapStart) {
    const applyOn = stringField(snapStart, 'ApplyOn', 'snapStart.applyOn');
    if (!SNAP_START_APPLY_ON.includes(applyOn as SnapStartApplyOn)) {
      throw lambdaErrors.validation(
        String(applyOn),
        'snapStart.applyOn',
        `Member must satisfy enum value set: [${SNAP_START_APPLY_ON.join(', ')}]`,
      );
    }
    spec.snapStart = { applyOn: applyOn as SnapStartApplyOn };
  }
  const layers = stringList(body, 'Layers');
  if (layers !== undefined) {
    if (layers.length > 5)
      throw lambdaErrors.invalidParameter('Cannot reference more than 5 layers.');
    meta.layers = layers;
  }
  const logging = objectField(body, 'LoggingConfig', [
    'LogFormat',
    'ApplicationLogLevel',
    'SystemLogLevel',
    'LogGroup',
  ]);
  if (logging) spec.loggingConfig = loggingConfig(logging, currentLogging);
  const passthrough: Record<string, unknown> = { ...(meta.passthrough ?? current?.passthrough) };
  let touched = meta.passthrough !== undefined;
  for (const f of PASSTHROUGH) {
    if (body[f] !== undefined) {
      passthrough[f] = body[f];
      touched = true;
    }
  }
  if (touched) meta.passthrough = passthrough;
  return { spec, meta };
}

function loggingConfig(body: Body, current: LoggingConfig | undefined): LoggingConfig {
  const format = stringField(body, 'LogFormat', 'loggingConfig.logFormat') ?? current?.logFormat;
  if (format !== undefined && !LOG_FORMATS.includes(format as LoggingConfig['logFormat'])) {
    throw lambdaErrors.validation(
      format,
      'loggingConfig.logFormat',
      `Member must satisfy enum value set: [${LOG_FORMATS.join(', ')}]`,
    );
  }
  const app = stringField(body, 'ApplicationLogLevel', 'loggingConfig.applicationLogLevel');
  if (app !== undefined && !(APPLICATION_LOG_LEVELS as readonly string[]).includes(app)) {
    throw lambdaErrors.validation(
      app,
      'loggingConfig.applicationLogLevel',
      `Member must satisfy enum value set: [${APPLICATION_LOG_LEVELS.join(', ')}]`,
    );
  }
  const system = stringField(body, 'SystemLogLevel', 'loggingConfig.systemLogLevel');
  if (system !== undefined && !(SYSTEM_LOG_LEVELS as readonly string[]).includes(system)) {
    throw lambdaErrors.validation(
      system,
      'loggingConfig.systemLogLevel',
      `Member must satisfy enum value set: [${SYSTEM_LOG_LEVELS.join(', ')}]`,
    );
  }
  if ((app !== undefined || system !== undefined) && format !== 'JSON') {
    throw lambdaErrors.invalidParameter(LEVELS_NEED_JSON);
  }
  const group =
    stringField(body, 'LogGroup', 'loggingConfig.logGroup', {
      min: 1,
      max: LOG_GROUP_MAX,
      pattern: LOG_GROUP_PATTERN,
      patternText: '[\\.\\-_/#A-Za-z0-9]+',
    }) ?? current?.logGroup;
  // Levels left out keep theirs while the format stays JSON; Text has none.
  const json = format === 'JSON';
  const application = app ?? (json ? current?.applicationLogLevel : undefined);
  const systemLevel = system ?? (json ? current?.systemLogLevel : undefined);
  return {
    logFormat: (format ?? 'Text') as LoggingConfig['logFormat'],
    ...(application !== undefined && {
      applicationLogLevel: application as LoggingConfig['applicationLogLevel'],
    }),
    ...(systemLevel !== undefined && {
      systemLogLevel: systemLevel as LoggingConfig['systemLogLevel'],
    }),
    ...(group !== undefined && { logGroup: group }),
  };
}

/** Lambda's limit on a zip uploaded in the request: 50 MB, base64 in JSON. */
export const ZIP_UPLOAD_LIMIT = 50 * 1024 * 1024;
/** The request size that allows it (Lambda's own figure: 4/3 of 50 MB). */
export const CODE_REQUEST_LIMIT = 69_905_067;

/** A zip from the request: base64 text, a zip Lambda can unpack, within the limits. */
export function zipCode(value: unknown, member: string): FunctionCode {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(value))
    throw lambdaErrors.invalidJson(`${member} must be base64`);
  const zip = Buffer.from(value, 'base64');
  if (zip.length > ZIP_UPLOAD_LIMIT) {
    throw lambdaErrors.validation(
      '[zip]',
      member,
      `Member must have length less than or equal to ${ZIP_UPLOAD_LIMIT}`,
    );
  }
  let unzipped = 0;
  try {
    for (const entry of readZip(zip)) unzipped += entry.size;
  } catch (err) {
    if (!(err instanceof ZipError) && !(err instanceof RangeError)) throw err;
    throw lambdaErrors.invalidParameter(
      'Could not unzip uploaded file. Please check your file, then try to upload again.',
    );
  }
  const max = UNZIPPED_MAX_MB * 1024 * 1024;
  if (unzipped > max)
    throw lambdaErrors.invalidParameter(`Unzipped size must be smaller than ${max} bytes`);
  return { zipFile: zip.toString('base64') };
}

export function imageCode(value: unknown): FunctionCode {
  if (typeof value !== 'string' || value.length === 0)
    throw lambdaErrors.invalidParameter('ImageUri must be an image reference');
  return { imageURI: value };
}

export function s3Refused(): never {
  throw lambdaErrors.invalidParameter(
    'Code from S3 (S3Bucket, S3Key) is not supported by Selfless: send the zip itself (ZipFile) or an ImageUri.',
  );
}

/** The whole spec checked once more by the model every component uses. */
export function checkedSpec(spec: FunctionSpec): FunctionSpec {
  // Lambda's own words for a SnapStart it refuses, not the model's field list.
  if (spec.snapStart?.applyOn === 'PublishedVersions' && spec.code.imageURI !== undefined)
    throw lambdaErrors.invalidParameter(
      'ContainerImage is not supported for SnapStart enabled functions.',
    );
  const refusal = snapStartRefusal(spec.snapStart, spec.runtime, spec.ephemeralStorage.size);
  if (refusal) throw lambdaErrors.invalidParameter(refusal);
  const parsed = parseFunctionSpec(spec);
  if (!parsed.ok) throw lambdaErrors.invalidParameter(formatErrors(parsed.errors));
  return parsed.value;
}
