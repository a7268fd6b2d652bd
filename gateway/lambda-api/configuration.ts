// FunctionConfiguration as Lambda reports it (GetFunction, CreateFunction,
// UpdateFunction*, PublishVersion, ListFunctions, ListVersionsByFunction), from the
// served definition and what the catalog keeps beside it.
import { keyOf, type FunctionDefinition } from '../../lib/function.ts';
import { logGroupName, logLevels } from '../../lib/logging-config.ts';
import { snapStartOn } from '../../lib/snap-start.ts';
import { capacityProviderArn, roleArn } from '../../lib/names.ts';
import { functionArn, type Account } from '../invoker.ts';
import { LATEST } from '../registry.ts';
import type { FunctionMeta } from './catalog.ts';

const STATE_REASONS = {
  Pending: { StateReason: 'The function is being created.', StateReasonCode: 'Creating' },
  Active: {},
  Failed: {},
} as const;

export function defaultRole(account: Account, fn: FunctionDefinition): string {
  return roleArn(
    account.accountIdFor?.(fn.namespace) ?? account.accountId,
    `selfless-${fn.namespace}`,
  );
}

export function functionConfiguration(
  account: Account,
  fn: FunctionDefinition,
  meta: FunctionMeta,
): Record<string, unknown> {
  const image = fn.spec.code.imageURI !== undefined;
  const version = fn.version ?? LATEST;
  const arn = functionArn(account, keyOf(fn));
  return {
    FunctionName: fn.name,
    // $LATEST's ARN is unqualified in GetFunction, a version's carries its number.
    FunctionArn: fn.version === undefined ? arn : `${arn}:${fn.version}`,
    ...(!image && { Runtime: fn.spec.runtime, Handler: fn.spec.handler }),
    Role: meta.role ?? defaultRole(account, fn),
    CodeSize: meta.codeSize,
    CodeSha256: meta.codeSha256,
    Description: meta.description,
    Timeout: fn.spec.timeout,
    MemorySize: fn.spec.memorySize,
    LastModified: meta.lastModified,
    Version: version,
    Environment: { Variables: fn.spec.environment.variables },
    TracingConfig: { Mode: 'PassThrough' },
    RevisionId: meta.revisionId,
    ...(meta.layers.length > 0 && { Layers: meta.layers.map((Arn) => ({ Arn, CodeSize: 0 })) }),
    State: meta.state,
    ...STATE_REASONS[meta.state],
    LastUpdateStatus: meta.lastUpdateStatus,
    ...(meta.lastUpdateStatus === 'InProgress' && {
      LastUpdateStatusReason: 'The function is being created.',
      LastUpdateStatusReasonCode: 'Creating',
    }),
    PackageType: image ? 'Image' : 'Zip',
    Architectures: meta.architectures,
    EphemeralStorage: { Size: fn.spec.ephemeralStorage.size },
    LoggingConfig: loggingConfiguration(fn),
    ...meta.passthrough,
    // After the passthrough: catalogs written before SnapStart acted kept it there.
    SnapStart: {
      ApplyOn: fn.spec.snapStart?.applyOn ?? 'None',
      OptimizationStatus: snapStartOn(fn) ? 'On' : 'Off',
    },
    ...(fn.spec.perExecutionEnvironmentMaxConcurrency !== undefined && {
      CapacityProviderConfig: capacityProviderConfig(account, fn, meta),
    }),
  };
}

/** Lambda's LoggingConfig: a JSON function reports its levels, INFO where unset. */
function loggingConfiguration(fn: FunctionDefinition) {
  const config = fn.spec.loggingConfig;
  const levels = logLevels(config);
  return {
    LogFormat: config?.logFormat ?? 'Text',
    ...(levels && { ApplicationLogLevel: levels.application, SystemLogLevel: levels.system }),
    LogGroup: logGroupName(fn.name, config),
  };
}

/** Lambda Managed Instances' block, from the spec (a manifest may set it too). */
function capacityProviderConfig(account: Account, fn: FunctionDefinition, meta: FunctionMeta) {
  const given = (meta.passthrough.CapacityProviderConfig as Record<string, unknown> | undefined)
    ?.LambdaManagedInstancesCapacityProviderConfig as Record<string, unknown> | undefined;
  return {
    LambdaManagedInstancesCapacityProviderConfig: {
      ...given,
      CapacityProviderArn:
        given?.CapacityProviderArn ??
        capacityProviderArn(
          account.region,
          account.accountIdFor?.(fn.namespace) ?? account.accountId,
        ),
      PerExecutionEnvironmentMaxConcurrency: fn.spec.perExecutionEnvironmentMaxConcurrency,
    },
  };
}
