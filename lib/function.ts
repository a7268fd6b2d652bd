// The Function model every component shares: the `spec` of a `Function` resource
// (selfless.dev/v1alpha1), field names as in Lambda's API in camelCase, and the
// validation that applies Lambda's limits. `parseFunction` turns untrusted input
// (a manifest from a file, a custom object from the API server) into a complete,
// defaulted `FunctionDefinition` or a list of errors naming each field and limit.
import { Checker, isObject, type Parsed } from './parse.ts';
import { parseAliases, type FunctionAlias } from './function-alias.ts';
import { unknownFunctionFields } from './function-fields.ts';
import { LAYER_VERSION_ARN } from './layer-version.ts';
import { parseContentRef, type ContentRef } from './content-ref.ts';
import {
  parseProvisionedConcurrencyConfigs,
  type ProvisionedConcurrencyConfig,
} from './provisioned-concurrency.ts';
import { parseLoggingConfig, type LoggingConfig } from './logging-config.ts';
import { parseSchedule } from './schedule-expression.ts';
import { parseSnapStart, snapStartRefusal, type SnapStart } from './snap-start.ts';
import { RUNTIMES, runtimeFamily, type Runtime } from './runtimes.ts';
import { parseDynamoDbStreamTrigger, type DynamoDbStreamTrigger } from './stream-trigger.ts';

export { RUNTIMES, type Runtime };

export const LIMITS = {
  memorySize: { min: 128, max: 10240, default: 128 },
  timeout: { min: 1, max: 900, default: 3 },
  ephemeralStorage: { min: 512, max: 10240, default: 512 },
  /** Bytes of all environment variable names and values together. */
  environmentBytes: 4096,
  maximumRetryAttempts: { min: 0, max: 2, default: 2 },
  maximumEventAgeInSeconds: { min: 60, max: 21600, default: 21600 },
  /** Function names: Lambda allows 64 characters of [a-zA-Z0-9-_]. */
  nameMaxLength: 64,
  /** Events one environment runs at once (Lambda Managed Instances' 1-1600). */
  perExecutionEnvironmentMaxConcurrency: { min: 1, max: 1600, default: 1 },
} as const;

export const HTTP_METHODS = [
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'ANY',
] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface FunctionCode {
  /** File name -> file content. */
  inline?: Record<string, string>;
  /** A base64 zip archive of the code. */
  zipFile?: string;
  /** A zip in the cluster's content store (lib/content-ref.ts), for zips too big to inline. */
  contentRef?: ContentRef;
  /** A ConfigMap whose keys are file names (cluster mode). */
  configMapRef?: { name: string };
  /** An image that implements the Lambda Runtime API (cluster mode). */
  imageURI?: string;
  /** A directory on this machine, relative to the manifest (`selfless dev`). */
  directory?: string;
}

export interface Destination {
  /** `function:<name>` (or a Lambda function ARN) or `queue:<redis queue name>`. */
  destination: string;
}

export interface FunctionEventInvokeConfig {
  maximumRetryAttempts: number;
  maximumEventAgeInSeconds: number;
  destinationConfig: { onFailure?: Destination; onSuccess?: Destination };
}

export type Trigger =
  | { http: { method: HttpMethod; path: string } }
  | { schedule: { expression: string; input?: unknown } }
  | { dynamodbStream: DynamoDbStreamTrigger };

/** A Function URL (Lambda's FunctionUrlConfig), camelCase as in the Function resource. */
export interface FunctionUrlCors {
  allowCredentials?: boolean;
  allowHeaders?: string[];
  allowMethods?: string[];
  allowOrigins?: string[];
  exposeHeaders?: string[];
  maxAge?: number;
}

export interface FunctionUrlSpec {
  authType: 'NONE' | 'AWS_IAM';
  invokeMode: 'BUFFERED' | 'RESPONSE_STREAM';
  cors?: FunctionUrlCors;
}

export interface FunctionSpec {
  runtime: Runtime;
  /** `file.export` for Node.js and Python; free-form for `provided`. */
  handler: string;
  code: FunctionCode;
  memorySize: number;
  timeout: number;
  ephemeralStorage: { size: number };
  environment: { variables: Record<string, string> };
  reservedConcurrentExecutions?: number;
  provisionedConcurrentExecutions: number;
  /** Provisioned concurrency of published versions and aliases (PutProvisionedConcurrencyConfig). */
  provisionedConcurrencyConfigs?: ProvisionedConcurrencyConfig[];
  /**
   * Events one environment runs at once; unset means 1, Lambda's one event per
   * environment. Above 1 the environment works as Lambda Managed Instances do.
   */
  perExecutionEnvironmentMaxConcurrency?: number;
  functionEventInvokeConfig: FunctionEventInvokeConfig;
  /** Lambda's RecursiveLoop; unset is Terminate. PutFunctionRecursionConfig overrides it. */
  recursiveLoop?: RecursiveLoop;
  triggers: Trigger[];
  /** The function's URL on the gateway, when it has one. */
  functionUrl?: FunctionUrlSpec;
  /** Lambda's LoggingConfig; unset: Text, as Lambda's default. */
  loggingConfig?: LoggingConfig;
  /** Aliases of published versions (lib/function-alias.ts); a version has none. */
  aliases?: FunctionAlias[];
  /** Publish a version on every change of code or configuration (Lambda's Publish: true). */
  publish?: boolean;
  /** Layer version ARNs, extracted in this order into the function's /opt (at most 5). */
  layers?: string[];
  /** Lambda's SnapStart (lib/snap-start.ts); unset: None. */
  snapStart?: SnapStart;
}

export interface FunctionDefinition {
  name: string;
  /** Kubernetes namespace, or `default` locally. */
  namespace: string;
  spec: FunctionSpec;
  /** Where the manifest came from: a directory code path is relative to it. */
  baseDir?: string;
  /** A published version's number (an immutable snapshot); absent for $LATEST. */
  version?: string;
  /** A published version's Description, where its FunctionVersion resource keeps it. */
  description?: string;
}

export const RECURSIVE_LOOPS = ['Allow', 'Terminate'] as const;

/** Lambda's limit on the layers of one function. */
export const LAYERS_MAX = 5;
export type RecursiveLoop = (typeof RECURSIVE_LOOPS)[number];

const NAME_RE = /^[a-zA-Z0-9-_]+$/;

/** How many events one environment of `fn` runs at once. */
export function maxConcurrency(fn: { spec: FunctionSpec }): number {
  return fn.spec.perExecutionEnvironmentMaxConcurrency ?? 1;
}

export function validateFunctionName(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'is required';
  if (name.length > LIMITS.nameMaxLength)
    return `must be at most ${LIMITS.nameMaxLength} characters`;
  if (!NAME_RE.test(name)) return 'may contain only letters, digits, hyphens and underscores';
  return undefined;
}

export function environmentBytes(variables: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(variables)) n += Buffer.byteLength(k) + Buffer.byteLength(v);
  return n;
}

export function parseFunctionSpec(input: unknown, c = new Checker()): Parsed<FunctionSpec> {
  if (!isObject(input))
    return { ok: false, errors: [{ field: 'spec', message: 'must be an object' }] };
  const spec = input;

  const runtime = spec.runtime;
  if (!RUNTIMES.includes(runtime as Runtime)) {
    c.fail('spec.runtime', `must be one of ${RUNTIMES.join(', ')}, got ${JSON.stringify(runtime)}`);
  }
  let handler = spec.handler;
  const family = RUNTIMES.includes(runtime as Runtime)
    ? runtimeFamily(runtime as Runtime)
    : undefined;
  // An OS-only runtime's handler is whatever its bootstrap makes of it; Java's is a
  // class, optionally `::method`.
  if (handler === undefined && family === 'provided') handler = 'bootstrap';
  const fileDotFunction = family === 'nodejs' || family === 'python';
  if (typeof handler !== 'string' || handler.length === 0 || handler.length > 128) {
    c.fail('spec.handler', 'is required: a string of 1 to 128 characters (file.function)');
  } else if (fileDotFunction && !/^[^\s]+\.[^\s.]+$/.test(handler)) {
    c.fail('spec.handler', `must look like file.function, got ${JSON.stringify(handler)}`);
  }

  const code: FunctionCode = {};
  if (!isObject(spec.code)) {
    c.fail(
      'spec.code',
      'is required: exactly one of inline, zipFile, contentRef, configMapRef, imageURI, directory',
    );
  } else {
    const kinds = (
      ['inline', 'zipFile', 'contentRef', 'configMapRef', 'imageURI', 'directory'] as const
    ).filter((k) => (spec.code as Record<string, unknown>)[k] !== undefined);
    if (kinds.length !== 1) {
      c.fail(
        'spec.code',
        `must set exactly one of inline, zipFile, contentRef, configMapRef, imageURI, directory (got ${kinds.length === 0 ? 'none' : kinds.join(', ')})`,
      );
    }
    const raw = spec.code;
    if (raw.inline !== undefined) {
      if (!isObject(raw.inline) || Object.values(raw.inline).some((v) => typeof v !== 'string')) {
        c.fail('spec.code.inline', 'must map file names to file contents (strings)');
      } else if (
        Object.keys(raw.inline).some((f) => f.startsWith('/') || f.split('/').includes('..'))
      ) {
        c.fail('spec.code.inline', 'file names must be relative paths inside the function');
      } else code.inline = raw.inline as Record<string, string>;
    }
    if (raw.zipFile !== undefined) {
      if (typeof raw.zipFile !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(raw.zipFile)) {
        c.fail('spec.code.zipFile', 'must be a base64-encoded zip archive');
      } else code.zipFile = raw.zipFile;
    }
    if (raw.contentRef !== undefined) {
      const ref = parseContentRef(raw.contentRef, (field, problem) =>
        c.fail(`spec.code.contentRef${field}`, problem),
      );
      if (ref) code.contentRef = ref;
    }
    if (raw.configMapRef !== undefined) {
      if (
        !isObject(raw.configMapRef) ||
        typeof raw.configMapRef.name !== 'string' ||
        !raw.configMapRef.name
      ) {
        c.fail('spec.code.configMapRef.name', 'is required');
      } else code.configMapRef = { name: raw.configMapRef.name };
    }
    if (raw.imageURI !== undefined) {
      if (typeof raw.imageURI !== 'string' || raw.imageURI.length === 0) {
        c.fail('spec.code.imageURI', 'must be an image reference');
      } else code.imageURI = raw.imageURI;
    }
    if (raw.directory !== undefined) {
      if (typeof raw.directory !== 'string' || raw.directory.length === 0) {
        c.fail('spec.code.directory', 'must be a path');
      } else code.directory = raw.directory;
    }
  }

  const memorySize = c.int(spec, 'memorySize', 'spec.memorySize', LIMITS.memorySize)!;
  const timeout = c.int(spec, 'timeout', 'spec.timeout', LIMITS.timeout)!;
  let ephemeral: number = LIMITS.ephemeralStorage.default;
  if (spec.ephemeralStorage !== undefined) {
    if (!isObject(spec.ephemeralStorage))
      c.fail('spec.ephemeralStorage', 'must be an object { size }');
    else
      ephemeral = c.int(
        spec.ephemeralStorage,
        'size',
        'spec.ephemeralStorage.size',
        LIMITS.ephemeralStorage,
      )!;
  }

  const variables: Record<string, string> = {};
  if (spec.environment !== undefined) {
    const vars = isObject(spec.environment) ? spec.environment.variables : undefined;
    if (!isObject(spec.environment) || (vars !== undefined && !isObject(vars))) {
      c.fail('spec.environment.variables', 'must map names to string values');
    } else if (vars) {
      for (const [k, v] of Object.entries(vars)) {
        if (!/^[a-zA-Z]([a-zA-Z0-9_])*$/.test(k)) {
          c.fail(
            `spec.environment.variables.${k}`,
            'names must start with a letter and use [a-zA-Z0-9_]',
          );
        } else if (typeof v !== 'string') {
          c.fail(`spec.environment.variables.${k}`, `must be a string, got ${JSON.stringify(v)}`);
        } else variables[k] = v;
      }
      const bytes = environmentBytes(variables);
      if (bytes > LIMITS.environmentBytes) {
        c.fail(
          'spec.environment.variables',
          `total size ${bytes} bytes exceeds the limit of ${LIMITS.environmentBytes} bytes`,
        );
      }
    }
  }

  const reserved =
    spec.reservedConcurrentExecutions === undefined || spec.reservedConcurrentExecutions === null
      ? undefined
      : c.int(spec, 'reservedConcurrentExecutions', 'spec.reservedConcurrentExecutions', {
          min: 0,
          max: 100_000,
        });
  const provisioned =
    c.int(spec, 'provisionedConcurrentExecutions', 'spec.provisionedConcurrentExecutions', {
      min: 0,
      max: 100_000,
      default: 0,
    }) ?? 0;
  if (reserved !== undefined && provisioned > reserved) {
    c.fail(
      'spec.provisionedConcurrentExecutions',
      `${provisioned} exceeds reservedConcurrentExecutions (${reserved})`,
    );
  }

  const maxConcurrency =
    spec.perExecutionEnvironmentMaxConcurrency === undefined ||
    spec.perExecutionEnvironmentMaxConcurrency === null
      ? undefined
      : c.int(
          spec,
          'perExecutionEnvironmentMaxConcurrency',
          'spec.perExecutionEnvironmentMaxConcurrency',
          LIMITS.perExecutionEnvironmentMaxConcurrency,
        );

  const eic = parseEventInvokeConfig(
    spec.functionEventInvokeConfig,
    'spec.functionEventInvokeConfig',
    c,
  );
  const triggers = parseTriggers(spec.triggers, c);
  const functionUrl = parseFunctionUrl(spec.functionUrl, c);
  const loggingConfig = parseLoggingConfig(spec.loggingConfig, c);
  const aliases = parseAliases(spec.aliases, c);
  const provisionedConfigs = parseProvisionedConcurrencyConfigs(
    spec.provisionedConcurrencyConfigs,
    c,
  );
  if (spec.publish !== undefined && spec.publish !== null && typeof spec.publish !== 'boolean') {
    c.fail('spec.publish', `must be true or false, got ${JSON.stringify(spec.publish)}`);
  }
  const recursiveLoop = spec.recursiveLoop ?? undefined;
  if (recursiveLoop !== undefined && !RECURSIVE_LOOPS.includes(recursiveLoop as RecursiveLoop)) {
    c.fail(
      'spec.recursiveLoop',
      `must be Allow or Terminate, got ${JSON.stringify(recursiveLoop)}`,
    );
  }

  const layers = spec.layers ?? undefined;
  if (
    layers !== undefined &&
    (!Array.isArray(layers) ||
      layers.length > LAYERS_MAX ||
      layers.some((l) => typeof l !== 'string' || !LAYER_VERSION_ARN.test(l)))
  ) {
    c.fail('spec.layers', `must be at most ${LAYERS_MAX} layer version ARNs`);
  }

  const snapStart = parseSnapStart(spec.snapStart, c);
  const refusal =
    family !== undefined && snapStartRefusal(snapStart, runtime as Runtime, ephemeral);
  if (refusal) c.fail('spec.snapStart', refusal);

  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  const value: FunctionSpec = {
    runtime: runtime as Runtime,
    handler: handler as string,
    code,
    memorySize,
    timeout,
    ephemeralStorage: { size: ephemeral },
    environment: { variables },
    provisionedConcurrentExecutions: provisioned,
    functionEventInvokeConfig: eic,
    triggers,
  };
  if (reserved !== undefined) value.reservedConcurrentExecutions = reserved;
  if (functionUrl) value.functionUrl = functionUrl;
  if (loggingConfig) value.loggingConfig = loggingConfig;
  if (aliases && aliases.length > 0) value.aliases = aliases;
  if (provisionedConfigs && provisionedConfigs.length > 0)
    value.provisionedConcurrencyConfigs = provisionedConfigs;
  if (spec.publish === true) value.publish = true;
  if (maxConcurrency !== undefined) value.perExecutionEnvironmentMaxConcurrency = maxConcurrency;
  if (recursiveLoop !== undefined) value.recursiveLoop = recursiveLoop as RecursiveLoop;
  if (Array.isArray(layers) && layers.length > 0) value.layers = layers as string[];
  if (snapStart) value.snapStart = snapStart;
  return { ok: true, value };
}

export function parseEventInvokeConfig(
  input: unknown,
  path: string,
  c = new Checker(),
): FunctionEventInvokeConfig {
  const out: FunctionEventInvokeConfig = {
    maximumRetryAttempts: LIMITS.maximumRetryAttempts.default,
    maximumEventAgeInSeconds: LIMITS.maximumEventAgeInSeconds.default,
    destinationConfig: {},
  };
  if (input === undefined || input === null) return out;
  if (!isObject(input)) {
    c.fail(path, 'must be an object');
    return out;
  }
  out.maximumRetryAttempts = c.int(
    input,
    'maximumRetryAttempts',
    `${path}.maximumRetryAttempts`,
    LIMITS.maximumRetryAttempts,
  )!;
  out.maximumEventAgeInSeconds = c.int(
    input,
    'maximumEventAgeInSeconds',
    `${path}.maximumEventAgeInSeconds`,
    LIMITS.maximumEventAgeInSeconds,
  )!;
  if (input.destinationConfig !== undefined) {
    if (!isObject(input.destinationConfig))
      c.fail(`${path}.destinationConfig`, 'must be an object');
    else {
      for (const which of ['onFailure', 'onSuccess'] as const) {
        const d = input.destinationConfig[which];
        if (d === undefined) continue;
        const p = `${path}.destinationConfig.${which}.destination`;
        if (!isObject(d) || typeof d.destination !== 'string') c.fail(p, 'is required');
        else if (!/^(function:|queue:|arn:aws:lambda:)/.test(d.destination)) {
          c.fail(
            p,
            `must be function:<name>, queue:<name> or a Lambda function ARN, got ${JSON.stringify(d.destination)}`,
          );
        } else out.destinationConfig[which] = { destination: d.destination };
      }
    }
  }
  return out;
}

/** A Function URL's settings at `p` (spec.functionUrl, or an alias's). */
export function parseFunctionUrl(
  input: unknown,
  c: Checker,
  p = 'spec.functionUrl',
): FunctionUrlSpec | undefined {
  if (input === undefined || input === null) return undefined;
  if (!isObject(input)) {
    c.fail(p, 'must be an object { authType, invokeMode, cors }');
    return undefined;
  }
  const authType = input.authType;
  if (authType !== 'NONE' && authType !== 'AWS_IAM') {
    c.fail(`${p}.authType`, `must be NONE or AWS_IAM, got ${JSON.stringify(authType)}`);
  }
  const invokeMode = input.invokeMode ?? 'BUFFERED';
  if (invokeMode !== 'BUFFERED' && invokeMode !== 'RESPONSE_STREAM') {
    c.fail(
      `${p}.invokeMode`,
      `must be BUFFERED or RESPONSE_STREAM, got ${JSON.stringify(invokeMode)}`,
    );
  }
  const out: FunctionUrlSpec = {
    authType: authType as FunctionUrlSpec['authType'],
    invokeMode: invokeMode as FunctionUrlSpec['invokeMode'],
  };
  if (input.cors === undefined || input.cors === null) return out;
  if (!isObject(input.cors)) {
    c.fail(`${p}.cors`, 'must be an object');
    return out;
  }
  const cors: FunctionUrlCors = {};
  const raw = input.cors;
  if (raw.allowCredentials !== undefined) {
    if (typeof raw.allowCredentials !== 'boolean') {
      c.fail(`${p}.cors.allowCredentials`, 'must be true or false');
    } else cors.allowCredentials = raw.allowCredentials;
  }
  for (const [field, max] of [
    ['allowHeaders', 100],
    ['allowMethods', 6],
    ['allowOrigins', 100],
    ['exposeHeaders', 100],
  ] as const) {
    const v = raw[field];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string') || v.length > max) {
      c.fail(`${p}.cors.${field}`, `must be a list of at most ${max} strings`);
    } else cors[field] = v as string[];
  }
  if (raw.maxAge !== undefined) {
    const age = c.int(raw, 'maxAge', `${p}.cors.maxAge`, { min: 0, max: 86400 });
    if (age !== undefined) cors.maxAge = age;
  }
  out.cors = cors;
  return out;
}

function parseTriggers(input: unknown, c: Checker): Trigger[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) {
    c.fail('spec.triggers', 'must be a list');
    return [];
  }
  const out: Trigger[] = [];
  input.forEach((t, i) => {
    const p = `spec.triggers[${i}]`;
    if (!isObject(t) || Object.keys(t).length !== 1) {
      c.fail(p, 'must have exactly one of http, schedule, dynamodbStream');
      return;
    }
    if (isObject(t.http)) {
      const method = String(t.http.method ?? 'ANY').toUpperCase();
      if (!HTTP_METHODS.includes(method as HttpMethod)) {
        c.fail(`${p}.http.method`, `must be one of ${HTTP_METHODS.join(', ')}`);
      }
      const path = t.http.path;
      if (typeof path !== 'string' || !path.startsWith('/')) {
        c.fail(`${p}.http.path`, 'must start with /');
        return;
      }
      if (
        !/^(\/([^/{}]+|\{[a-zA-Z_][a-zA-Z0-9_]*\}))*(\/\{[a-zA-Z_][a-zA-Z0-9_]*\+\})?\/?$/.test(
          path,
        )
      ) {
        c.fail(
          `${p}.http.path`,
          `segments must be literal or {name} (greedy {name+} last), got ${path}`,
        );
        return;
      }
      out.push({ http: { method: method as HttpMethod, path } });
    } else if (isObject(t.schedule)) {
      const expr = t.schedule.expression;
      if (typeof expr !== 'string') {
        c.fail(`${p}.schedule.expression`, 'must be rate(...) or cron(...)');
        return;
      }
      try {
        parseSchedule(expr);
      } catch (err) {
        c.fail(`${p}.schedule.expression`, (err as Error).message);
        return;
      }
      const s: { expression: string; input?: unknown } = { expression: expr };
      if (t.schedule.input !== undefined) s.input = t.schedule.input;
      out.push({ schedule: s });
    } else if (isObject(t.dynamodbStream)) {
      const d = parseDynamoDbStreamTrigger(t.dynamodbStream, `${p}.dynamodbStream`, c);
      if (d) out.push({ dynamodbStream: d });
    } else c.fail(p, 'must have exactly one of http, schedule, dynamodbStream');
  });
  return out;
}

/**
 * A `Function` manifest (apiVersion selfless.dev/v1alpha1) as users `kubectl apply`
 * it, or a custom object read from the API server.
 */
export function parseFunctionManifest(doc: unknown, baseDir?: string): Parsed<FunctionDefinition> {
  if (!isObject(doc))
    return { ok: false, errors: [{ field: '', message: 'must be a YAML mapping' }] };
  const c = new Checker();
  if (doc.apiVersion !== 'selfless.dev/v1alpha1') {
    c.fail('apiVersion', `must be selfless.dev/v1alpha1, got ${JSON.stringify(doc.apiVersion)}`);
  }
  if (doc.kind !== 'Function') c.fail('kind', `must be Function, got ${JSON.stringify(doc.kind)}`);
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const nameError = validateFunctionName(meta.name);
  if (nameError) c.fail('metadata.name', nameError);
  const spec = parseFunctionSpec(doc.spec, c);
  for (const e of unknownFunctionFields(doc)) c.fail(e.field, e.message);
  if (!spec.ok || c.errors.length > 0) return { ok: false, errors: c.errors };
  const def: FunctionDefinition = {
    name: meta.name as string,
    namespace: typeof meta.namespace === 'string' ? meta.namespace : 'default',
    spec: spec.value,
  };
  if (baseDir !== undefined) def.baseDir = baseDir;
  return { ok: true, value: def };
}

/**
 * The key a gateway knows a function by: its name in the `default` namespace (so
 * local names and ARNs stay Lambda's), `namespace/name` elsewhere. Lambda names
 * never contain '/', so keys of different namespaces cannot collide.
 */
export function functionKey(namespace: string, name: string): string {
  return namespace === 'default' ? name : `${namespace}/${name}`;
}

export function keyOf(fn: { namespace: string; name: string }): string {
  return functionKey(fn.namespace, fn.name);
}

/** The inverse of functionKey: [namespace, name]. */
export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return i < 0 ? ['default', key] : [key.slice(0, i), key.slice(i + 1)];
}
