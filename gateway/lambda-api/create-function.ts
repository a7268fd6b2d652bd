// CreateFunction: POST /2015-03-31/functions. A zip (ZipFile) or an image (ImageUri)
// with its configuration; the function starts Pending and becomes Active when its
// definition is served (the SDK's waitUntilFunctionActiveV2 polls for that).
import type { Request, Response } from 'express';
import {
  LIMITS,
  functionKey,
  validateFunctionName,
  type FunctionCode,
  type FunctionDefinition,
  type FunctionSpec,
} from '../../lib/function.ts';
import { parseFunctionRef } from '../../lib/names.ts';
import { runtimeFamily } from '../../lib/runtimes.ts';
import { lambdaErrors } from '../errors.ts';
import { callerNamespace, layerScope, type ApiContext } from './context.ts';
import { functionConfiguration } from './configuration.ts';
import { apiErrors } from './errors.ts';
import { withLayers } from './layer-fields.ts';
import {
  CONFIG_FIELDS,
  checkedSpec,
  configChange,
  imageCode,
  s3Refused,
  zipCode,
} from './fields.ts';
import {
  boolField,
  jsonBody,
  knownFields,
  objectField,
  stringField,
  stringMap,
} from './request.ts';

export const CREATE_FIELDS = [
  'FunctionName',
  'Code',
  'Publish',
  'PublishTo',
  'PackageType',
  'Tags',
  'CodeSigningConfigArn',
  'Architectures',
  'TenancyConfig',
  ...CONFIG_FIELDS,
] as const;

export const CODE_FIELDS = [
  'ZipFile',
  'S3Bucket',
  'S3Key',
  'S3ObjectVersion',
  'S3ObjectStorageMode',
  'ImageUri',
  'SourceKMSKeyArn',
] as const;

const NAME_PATTERN =
  '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?';

/** The function name a CreateFunction names (a name or an unqualified ARN of this account). */
export function nameOf(raw: string): string {
  const ref = raw.startsWith('arn:') ? parseFunctionRef(raw) : { name: raw, qualifier: undefined };
  if (!ref || ref.qualifier !== undefined || validateFunctionName(ref.name) !== undefined) {
    throw lambdaErrors.validation(
      raw,
      'functionName',
      `Member must satisfy regular expression pattern: ${NAME_PATTERN}`,
    );
  }
  return ref.name;
}

export function architecturesOf(body: Record<string, unknown>): string[] | undefined {
  const a = body.Architectures;
  if (a === undefined || a === null) return undefined;
  if (!Array.isArray(a) || a.length !== 1 || (a[0] !== 'x86_64' && a[0] !== 'arm64')) {
    throw lambdaErrors.validation(
      JSON.stringify(a),
      'architectures',
      'Member must have length less than or equal to 1, Member must satisfy enum value set: [x86_64, arm64]',
    );
  }
  return a as string[];
}

export function makeCreateFunction(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = jsonBody(res);
    knownFields(body, CREATE_FIELDS);
    const rawName = stringField(body, 'FunctionName', 'functionName', { min: 1, max: 140 });
    if (rawName === undefined) {
      throw lambdaErrors.validation('null', 'functionName', 'Member must not be null');
    }
    const name = nameOf(rawName);
    const packageType = body.PackageType ?? 'Zip';
    if (packageType !== 'Zip' && packageType !== 'Image') {
      throw lambdaErrors.validation(
        String(packageType),
        'packageType',
        'Member must satisfy enum value set: [Zip, Image]',
      );
    }
    const codeBody = objectField(body, 'Code', CODE_FIELDS);
    if (!codeBody) throw lambdaErrors.validation('null', 'code', 'Member must not be null');
    if (codeBody.S3Bucket !== undefined || codeBody.S3Key !== undefined) s3Refused();

    const namespace = callerNamespace(ctx, req);
    const key = functionKey(namespace, name);
    if (ctx.registry.get(key)) throw apiErrors.functionExists(name);

    let code: FunctionCode;
    if (packageType === 'Image') {
      if (codeBody.ZipFile !== undefined)
        throw lambdaErrors.invalidParameter(
          'Please provide ImageUri when creating a function with packageType Image.',
        );
      code = imageCode(codeBody.ImageUri);
    } else {
      if (codeBody.ImageUri !== undefined)
        throw lambdaErrors.invalidParameter(
          "Please don't provide ImageUri when creating a function with packageType Zip.",
        );
      if (codeBody.ZipFile === undefined)
        throw lambdaErrors.invalidParameter('Please provide a source for function code.');
      code = zipCode(codeBody.ZipFile, 'code.zipFile');
    }
    const change = withLayers(layerScope(ctx, req), configChange(body, undefined), undefined, code);
    if (
      packageType === 'Zip' &&
      (change.spec.runtime === undefined ||
        (change.spec.handler === undefined && runtimeFamily(change.spec.runtime) !== 'provided'))
    ) {
      throw lambdaErrors.invalidParameter(
        'Runtime and Handler are mandatory parameters for functions created with deployment packages.',
      );
    }
    const tags = stringMap(body, 'Tags') ?? {};
    const architectures = architecturesOf(body);
    const publish = boolField(body, 'Publish') ?? false;

    const spec: FunctionSpec = checkedSpec({
      runtime: change.spec.runtime ?? 'provided',
      handler: change.spec.handler ?? 'bootstrap',
      code,
      memorySize: change.spec.memorySize ?? LIMITS.memorySize.default,
      timeout: change.spec.timeout ?? LIMITS.timeout.default,
      ephemeralStorage: change.spec.ephemeralStorage ?? { size: LIMITS.ephemeralStorage.default },
      environment: change.spec.environment ?? { variables: {} },
      provisionedConcurrentExecutions: 0,
      functionEventInvokeConfig: {
        maximumRetryAttempts: LIMITS.maximumRetryAttempts.default,
        maximumEventAgeInSeconds: LIMITS.maximumEventAgeInSeconds.default,
        destinationConfig: {},
      },
      triggers: [],
      ...(change.spec.loggingConfig && { loggingConfig: change.spec.loggingConfig }),
      ...(change.spec.layers && { layers: change.spec.layers }),
      ...(change.spec.snapStart && { snapStart: change.spec.snapStart }),
    });
    const fn: FunctionDefinition = { name, namespace, spec };
    const record = await ctx.catalog.create(
      fn,
      { ...change.meta, ...(architectures && { architectures }) },
      tags,
    );
    if (publish) {
      const v = await ctx.catalog.publish(record, undefined);
      res.status(201).json(functionConfiguration(ctx.account, v.fn, v.meta));
      return;
    }
    res.status(201).json(functionConfiguration(ctx.account, fn, record.meta));
  };
}
