// Lambda's environment contract: the variables a function's runtime sees, computed in
// one place for every worker shape (the agent's runtime process in a managed-runtime
// pod or under `selfless dev`, and the function container of an image pod, whose
// variables the operator writes into the pod spec). Names and values follow Lambda's
// "defined runtime environment variables"; docs/functions.md lists them and the few
// that differ between shapes.
import type { FunctionDefinition } from './function.ts';
import { logGroupName, logLevels } from './logging-config.ts';
import { snapStartOn } from './snap-start.ts';

/**
 * Names a function's own variables cannot set: Lambda's reserved keys, and TMPDIR,
 * which points at the environment's own /tmp (whose size the agent enforces).
 */
export const RESERVED_VARIABLES: ReadonlySet<string> = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_DEFAULT_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_MAX_CONCURRENCY',
  'AWS_LAMBDA_RUNTIME_API',
  'AWS_REGION',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'LAMBDA_RUNTIME_DIR',
  'LAMBDA_TASK_ROOT',
  'TMPDIR',
  'TZ',
]);

/** Lambda's PATH without its runtime directory (/var/lang/bin), which comes first. */
const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin/', '/bin'];

/** Where a managed runtime lives on this machine or in this image. */
export interface RuntimeLocation {
  /** LAMBDA_RUNTIME_DIR: the runtime's own files. */
  dir: string;
  /** The interpreter's directory, first on PATH as Lambda's /var/lang/bin is. */
  binDir?: string;
}

export interface LambdaEnvironmentOptions {
  fn: Pick<FunctionDefinition, 'name' | 'spec' | 'version'>;
  region: string;
  /** `host:port` of the Runtime API. */
  runtimeApi: string;
  /** The function's code: LAMBDA_TASK_ROOT. */
  taskRoot: string;
  /**
   * This environment's own /tmp, as TMPDIR and as HOME: the one path writable in
   * every worker shape (pods have a read-only root), and the AWS SDK needs a home
   * directory (os.homedir() throws for a uid without a passwd entry).
   */
  tmpDir: string;
  /** Omitted where the worker supplies it (an image pod: its pod name). */
  logStreamName?: string;
  /**
   * Omitted for an image function: its image's own ENV says where its runtime and
   * libraries are (PATH, LD_LIBRARY_PATH, LAMBDA_RUNTIME_DIR), and a value in the
   * pod spec would replace it.
   */
  runtime?: RuntimeLocation;
  /** Endpoints and credentials the platform gives every function (platformVariables). */
  platform: Record<string, string>;
  /** Where the function's layers are extracted; /opt as on Lambda unless the worker has another. */
  optDir?: string;
}

/**
 * The variables a function's runtime starts with. Defaults a function may change
 * (LANG, PATH, LD_LIBRARY_PATH, HOME, the platform's endpoints) come first, then the
 * function's variables, then the reserved names, which always win.
 */
export function lambdaEnvironment(o: LambdaEnvironmentOptions): Record<string, string> {
  const { spec, name } = o.fn;
  const levels = logLevels(spec.loggingConfig);
  const defaults: Record<string, string> = { LANG: 'en_US.UTF-8', HOME: o.tmpDir };
  const opt = o.optDir ?? '/opt';
  if (o.runtime) {
    const { dir, binDir } = o.runtime;
    defaults.PATH = [...(binDir ? [binDir] : []), ...SYSTEM_PATH, `${opt}/bin`].join(':');
    defaults.LD_LIBRARY_PATH = [
      '/lib64',
      '/usr/lib64',
      dir,
      `${dir}/lib`,
      o.taskRoot,
      `${o.taskRoot}/lib`,
      `${opt}/lib`,
    ].join(':');
  }
  const snapStart = snapStartOn(o.fn);
  const reserved: Record<string, string> = {
    TZ: ':UTC',
    TMPDIR: o.tmpDir,
    _HANDLER: spec.handler,
    LAMBDA_TASK_ROOT: o.taskRoot,
    ...(o.runtime && { LAMBDA_RUNTIME_DIR: o.runtime.dir }),
    AWS_LAMBDA_RUNTIME_API: o.runtimeApi,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: o.fn.version ?? '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
    // Lambda leaves the log group and stream out of a SnapStart function's variables:
    // a snapshot is shared by environments with streams of their own.
    ...(!snapStart && { AWS_LAMBDA_LOG_GROUP_NAME: logGroupName(name, spec.loggingConfig) }),
    ...(!snapStart &&
      o.logStreamName !== undefined && { AWS_LAMBDA_LOG_STREAM_NAME: o.logStreamName }),
    AWS_LAMBDA_INITIALIZATION_TYPE: snapStart ? 'snap-start' : 'on-demand',
    // Advanced logging controls: the runtime formats and filters its own records.
    ...(levels && { AWS_LAMBDA_LOG_FORMAT: 'JSON', AWS_LAMBDA_LOG_LEVEL: levels.application }),
    // Lambda Managed Instances tell the runtime how many events to take at once.
    ...(spec.perExecutionEnvironmentMaxConcurrency !== undefined && {
      AWS_LAMBDA_MAX_CONCURRENCY: String(spec.perExecutionEnvironmentMaxConcurrency),
    }),
    AWS_REGION: o.region,
    AWS_DEFAULT_REGION: o.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
  };
  return {
    ...defaults,
    ...unreserved(o.platform),
    ...unreserved(spec.environment.variables),
    ...only(o.platform, RESERVED_VARIABLES),
    ...reserved,
  };
}

/** Variables of a worker's own environment that it hands on to its functions. */
const PLATFORM =
  /^(AWS_REGION|AWS_DEFAULT_REGION|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_ENDPOINT_URL(_[A-Z0-9_]+)?)$/;

/** The platform variables (region, credentials, AWS_ENDPOINT_URL_*) of an environment. */
export function platformVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (PLATFORM.test(k) && v !== undefined) out[k] = v;
  return out;
}

function unreserved(vars: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter(([k]) => !RESERVED_VARIABLES.has(k)));
}

function only(vars: Record<string, string>, names: ReadonlySet<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter(([k]) => names.has(k)));
}
