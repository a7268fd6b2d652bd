// The Function and Table CustomResourceDefinitions, built from the same constants
// as the Function model (lib/function.ts) so the API server and `parseFunctionManifest`
// enforce one set of limits. `npm run gen:crds` writes crds/*.yaml from here;
// crds/crds.test.ts fails when the checked-in YAML differs from what this builds.
import { HTTP_METHODS, LAYERS_MAX, LIMITS, RUNTIMES } from '../lib/function.ts';
import { LAYER_VERSION_ARN } from '../lib/layer-version.ts';
import { runtimeFamily } from '../lib/runtimes.ts';
import type { FunctionCode, FunctionEventInvokeConfig, FunctionSpec } from '../lib/function.ts';
import { MAX_ALIASES } from '../lib/function-alias.ts';
import { CHUNK_BYTES, CONTENT_MAX_BYTES } from '../lib/content-ref.ts';
import { MAX_PROVISIONED_CONFIGS } from '../lib/provisioned-concurrency.ts';
import { SNAP_START_APPLY_ON } from '../lib/snap-start.ts';
import { STARTING_POSITIONS, STREAM_LIMITS } from '../lib/stream-trigger.ts';
import {
  APPLICATION_LOG_LEVELS,
  LEVELS_NEED_JSON,
  LOG_FORMATS,
  LOG_GROUP_MAX,
  LOG_GROUP_PATTERN,
  SYSTEM_LOG_LEVELS,
} from '../lib/logging-config.ts';

export const GROUP = 'selfless.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The subset of OpenAPI v3 that structural CRD schemas use, with the real JSON keys. */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  required?: string[];
  enum?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  pattern?: string;
  format?: string;
  nullable?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: Rule[];
}

export interface Rule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?:
    'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

const int = (
  description: string,
  range: { min: number; max: number; default?: number },
): Schema => {
  const s: Schema = { type: 'integer', description, minimum: range.min, maximum: range.max };
  if (range.default !== undefined) s.default = range.default;
  return s;
};
const str = (description: string, extra: Partial<Schema> = {}): Schema => ({
  type: 'string',
  description,
  ...extra,
});
const obj = (
  description: string,
  properties: Record<string, Schema>,
  extra: Partial<Schema> = {},
) => ({ type: 'object', description, properties, ...extra }) satisfies Schema;

/** A range without its default: the gateway applies Lambda's, so an unset field stays unset. */
const bounds = (r: { min: number; max: number }) => ({ min: r.min, max: r.max });

/** Kubernetes conditions (metav1.Condition), the shape `kubectl wait --for=condition=Ready` reads. */
const conditions: Schema = {
  type: 'array',
  description: 'The latest observations of the resource state; Ready summarises them.',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  items: obj(
    'One aspect of the resource state.',
    {
      type: str('The aspect this condition describes, for example Ready.'),
      status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
      reason: str('A CamelCase word saying why the condition has its status.'),
      message: str('A human-readable explanation of the reason.'),
      lastTransitionTime: str('When the status last changed.', { format: 'date-time' }),
      observedGeneration: {
        type: 'integer',
        description: 'The metadata.generation this condition was computed from.',
      },
    },
    { required: ['type', 'status'] },
  ),
};

const observedGeneration: Schema = {
  type: 'integer',
  description: 'The metadata.generation the operator last reconciled.',
};

// Function names are DNS labels in a cluster (they name Deployments and label
// values); Lambda's own rule (64 of [a-zA-Z0-9-_]) is wider and applies locally.
export const CLUSTER_NAME_MAX = 63;

/** A zip in the content store: chunk ConfigMaps named selfless-content-<sha256>-<i>. */
const contentRef = (what: string): Schema =>
  obj(
    `${what} in the content store, for zips too big for the resource: ConfigMaps selfless-content-<sha256>-<0..chunks-1> in this namespace, labelled selfless.dev/content=chunk, whose binaryData key chunk holds ${CHUNK_BYTES} bytes of the zip each (the last one the rest).`,
    {
      sha256: str('SHA-256 of the whole zip, 64 lowercase hex digits.', {
        pattern: '^[0-9a-f]{64}$',
      }),
      size: int('Bytes of the zip.', { min: 1, max: CONTENT_MAX_BYTES }),
      chunks: int('How many chunk ConfigMaps hold it: ceil(size / chunk size).', {
        min: 1,
        max: Math.ceil(CONTENT_MAX_BYTES / CHUNK_BYTES),
      }),
      unzippedSize: { type: 'integer', description: 'Bytes of its files.', minimum: 0 },
    },
    {
      required: ['sha256', 'size', 'chunks'],
      'x-kubernetes-validations': [
        {
          rule: `self.chunks == (self.size + ${CHUNK_BYTES - 1}) / ${CHUNK_BYTES}`,
          message: `chunks must be ceil(size / ${CHUNK_BYTES})`,
        },
      ],
    },
  );

const codeProperties: Record<Exclude<keyof FunctionCode, 'directory'>, Schema> = {
  inline: {
    type: 'object',
    description:
      'Source files of the function: file name (a relative path) -> file content. Mounted read-only at /var/task.',
    additionalProperties: { type: 'string', description: 'The content of one file.' },
    maxProperties: 100,
    'x-kubernetes-validations': [
      {
        rule: "self.all(f, !f.startsWith('/') && !f.matches('(^|/)[.][.](/|$)'))",
        message: 'file names must be relative paths inside the function',
      },
    ],
  },
  zipFile: str(
    'A base64-encoded zip archive of the code (as Lambda CreateFunction ZipFile). The resource must stay under the API server object size limit (about 1.5 MB).',
    { pattern: '^[A-Za-z0-9+/=\\s]+$' },
  ),
  contentRef: contentRef('A zip'),
  configMapRef: obj(
    'A ConfigMap in the same namespace whose keys are file names and whose values are file contents.',
    { name: str('The name of the ConfigMap.', { minLength: 1, maxLength: 253 }) },
    { required: ['name'] },
  ),
  imageURI: str(
    'A container image that implements the Lambda Runtime API (any image built for Lambda). The agent runs beside it.',
    { minLength: 1, maxLength: 1024 },
  ),
};

const destination = (which: string): Schema =>
  obj(
    `Where the result of an asynchronous invocation goes on ${which}.`,
    {
      destination: str(
        'function:<name>, queue:<redis queue name> or a Lambda function ARN (arn:aws:lambda:...).',
        { pattern: '^(function:|queue:|arn:aws:lambda:)' },
      ),
    },
    { required: ['destination'] },
  );

const eventInvokeConfigProperties: Record<keyof FunctionEventInvokeConfig, Schema> = {
  maximumRetryAttempts: int(
    'How many times an asynchronous invocation is retried after the function returns an error.',
    LIMITS.maximumRetryAttempts,
  ),
  maximumEventAgeInSeconds: int(
    'How long an asynchronous event may wait (throttles, system errors) before it is sent to the on-failure destination.',
    LIMITS.maximumEventAgeInSeconds,
  ),
  destinationConfig: obj('Destinations of asynchronous invocation results.', {
    onFailure: destination('failure (after the retries and the maximum age)'),
    onSuccess: destination('success'),
  }),
};

const trigger: Schema = obj(
  'One event source: exactly one of http, schedule, dynamodbStream.',
  {
    http: obj(
      'An HTTP route served by the gateway with an API Gateway HTTP API (payload 2.0) event.',
      {
        method: str(`The HTTP method: ${HTTP_METHODS.join(', ')} (any case).`, {
          default: 'ANY',
          maxLength: 7,
          'x-kubernetes-validations': [
            {
              rule: `self.upperAscii() in [${HTTP_METHODS.map((m) => `'${m}'`).join(', ')}]`,
              message: `must be one of ${HTTP_METHODS.join(', ')}`,
            },
          ],
        }),
        path: str(
          'The route path: literal segments and {name} parameters, a greedy {name+} only last.',
          {
            maxLength: 1024,
            pattern:
              '^(/([^/{}]+|\\{[a-zA-Z_][a-zA-Z0-9_]*\\}))*(/\\{[a-zA-Z_][a-zA-Z0-9_]*\\+\\})?/?$',
          },
        ),
      },
      { required: ['path'] },
    ),
    schedule: obj(
      'An EventBridge-style schedule that invokes the function asynchronously.',
      {
        expression: str('rate(<n> <unit>) or cron(<6 fields>).', {
          // rate() completely; cron() by its six fields (their values are checked by
          // the operator, which reports a bad one as Ready=False InvalidSpec).
          pattern:
            '^(rate\\(\\s*(0*1\\s+(minute|hour|day)|0*([2-9]|[1-9][0-9]+)\\s+(minutes|hours|days))\\s*\\)|cron\\(\\s*\\S+(\\s+\\S+){5}\\s*\\))$',
          maxLength: 256,
        }),
        input: {
          description: 'The event sent on each tick (any JSON); a Scheduled Event when absent.',
          'x-kubernetes-preserve-unknown-fields': true,
        },
      },
      { required: ['expression'] },
    ),
    dynamodbStream: obj(
      "An event source mapping from a table's stream (Lambda's CreateEventSourceMapping fields; no defaults here, the gateway applies Lambda's).",
      {
        table: str("The table whose stream is read (its current stream's ARN is looked up).", {
          minLength: 3,
          maxLength: 255,
          pattern: '^[a-zA-Z0-9_.-]+$',
        }),
        startingPosition: str('Where a new mapping starts reading (default LATEST).', {
          enum: [...STARTING_POSITIONS],
        }),
        batchSize: int(
          'Records per invocation at most (default 100).',
          bounds(STREAM_LIMITS.batchSize),
        ),
        maximumBatchingWindowInSeconds: int(
          'How long records are gathered before an invocation (default 0).',
          bounds(STREAM_LIMITS.maximumBatchingWindowInSeconds),
        ),
        parallelizationFactor: int(
          "Batches of a shard run at once (default 1); an item's records stay in one lane, in order.",
          bounds(STREAM_LIMITS.parallelizationFactor),
        ),
        maximumRetryAttempts: int(
          'Retries of a failing batch before it goes to onFailure (-1: until the records age out).',
          bounds(STREAM_LIMITS.maximumRetryAttempts),
        ),
        maximumRecordAgeInSeconds: {
          ...int(
            'A failing batch older than this goes to onFailure: -1 (never) or 60-604800.',
            bounds(STREAM_LIMITS.maximumRecordAgeInSeconds),
          ),
          'x-kubernetes-validations': [
            {
              rule: `self == -1 || self >= ${STREAM_LIMITS.maximumRecordAgeInSeconds.lowest}`,
              message: 'must be -1 or between 60 and 604800',
            },
          ],
        },
        tumblingWindowInSeconds: int(
          "A tumbling window's length (default 0: none): the function gets a state carried from one invocation to the next of the same window, and a final invocation when the window ends; parallelizationFactor must then be 1.",
          bounds(STREAM_LIMITS.tumblingWindowInSeconds),
        ),
        bisectBatchOnFunctionError: {
          type: 'boolean',
          description: 'Split a failing batch in two and retry each half.',
        },
        reportBatchItemFailures: {
          type: 'boolean',
          description:
            'The function answers {batchItemFailures: [{itemIdentifier}]} (FunctionResponseTypes ReportBatchItemFailures).',
        },
        functionResponseTypes: {
          type: 'array',
          description:
            'Lambda spelling of reportBatchItemFailures: [] or [ReportBatchItemFailures].',
          maxItems: 1,
          items: str('A response type.', { enum: ['ReportBatchItemFailures'] }),
        },
        filterCriteria: obj('Records that match none of the filters are dropped before batching.', {
          filters: {
            type: 'array',
            description: 'At most 5 filters; a record passes when any matches.',
            maxItems: STREAM_LIMITS.filters,
            items: obj('One filter.', {
              pattern: {
                description:
                  'A Lambda filter pattern on the stream record: JSON text, or the same as a YAML object.',
                'x-kubernetes-preserve-unknown-fields': true,
              },
            }),
          },
        }),
        onFailure: obj(
          'Where the record of a discarded batch goes.',
          {
            destination: str('queue:<redis queue name>, an SQS queue ARN, or function:<name>.', {
              pattern: '^(function:|queue:|arn:aws[a-zA-Z-]*:(lambda|sqs):)',
            }),
          },
          { required: ['destination'] },
        ),
        enabled: { type: 'boolean', description: 'Whether the stream is read (default true).' },
      },
      { required: ['table'] },
    ),
  },
  { minProperties: 1, maxProperties: 1 },
);

const levelNeedsJson = (field: string): Rule => ({
  rule: `!has(self.${field}) || (has(self.logFormat) && self.logFormat == 'JSON')`,
  message: LEVELS_NEED_JSON,
  fieldPath: `.${field}`,
});

const loggingConfig: Schema = obj(
  "Lambda's LoggingConfig: the log format, the levels application and system logs are filtered at (JSON format only), and the log group the runtime is told (AWS_LAMBDA_LOG_GROUP_NAME).",
  {
    logFormat: str(
      'Text (default): plain lines as today; JSON: JSON records from the runtimes and platform.* records from the agent.',
      { enum: [...LOG_FORMATS] },
    ),
    applicationLogLevel: str(
      "The least severe level of the function's own logs kept (JSON format; default INFO).",
      { enum: [...APPLICATION_LOG_LEVELS] },
    ),
    systemLogLevel: str(
      'The least severe level of platform records kept (JSON format; default INFO).',
      {
        enum: [...SYSTEM_LOG_LEVELS],
      },
    ),
    logGroup: str('The log group name; default /aws/lambda/<function name>.', {
      minLength: 1,
      maxLength: LOG_GROUP_MAX,
      pattern: LOG_GROUP_PATTERN.source,
    }),
  },
  {
    'x-kubernetes-validations': [
      levelNeedsJson('applicationLogLevel'),
      levelNeedsJson('systemLogLevel'),
    ],
  },
);

/** A Function URL: the function's own (spec.functionUrl) or an alias's. */
const functionUrl = obj(
  "The function's URL on the gateway (Lambda's FunctionUrlConfig): /_url/<url-id>/ on the gateway, or Host <url-id>.lambda-url.<region>.on.aws.",
  {
    authType: str('NONE: public; AWS_IAM: requests must be SigV4-signed.', {
      enum: ['NONE', 'AWS_IAM'],
    }),
    invokeMode: str('BUFFERED: the response whole; RESPONSE_STREAM: as the function writes it.', {
      enum: ['BUFFERED', 'RESPONSE_STREAM'],
      default: 'BUFFERED',
    }),
    cors: obj('CORS as Lambda applies it: preflights answered by the gateway, headers added.', {
      allowCredentials: { type: 'boolean', description: 'Whether credentials are allowed.' },
      allowHeaders: {
        type: 'array',
        description: 'Request headers a preflight allows.',
        maxItems: 100,
        items: str('A header name.', { maxLength: 1024 }),
      },
      allowMethods: {
        type: 'array',
        description: 'HTTP methods a preflight allows, or *.',
        maxItems: 6,
        items: str('A method name.', { maxLength: 6 }),
      },
      allowOrigins: {
        type: 'array',
        description: 'Origins allowed, or *.',
        maxItems: 100,
        items: str('An origin.', { minLength: 1, maxLength: 253 }),
      },
      exposeHeaders: {
        type: 'array',
        description: 'Response headers exposed to the browser.',
        maxItems: 100,
        items: str('A header name.', { maxLength: 1024 }),
      },
      maxAge: int('Seconds a browser may cache a preflight.', { min: 0, max: 86400 }),
    }),
  },
  { required: ['authType'] },
);

const functionSpecProperties: Record<keyof FunctionSpec, Schema> = {
  runtime: str('The language runtime.', { enum: [...RUNTIMES] }),
  handler: str(
    'The entry point: file.function for Node.js and Python; class or class::method for Java; free-form for provided* (default bootstrap).',
    { minLength: 1, maxLength: 128 },
  ),
  code: obj(
    'The code of the function: exactly one of inline, zipFile, contentRef, configMapRef, imageURI.',
    codeProperties,
    {
      'x-kubernetes-validations': [
        {
          rule: '[has(self.inline), has(self.zipFile), has(self.contentRef), has(self.configMapRef), has(self.imageURI)].filter(x, x).size() == 1',
          message: 'must set exactly one of inline, zipFile, contentRef, configMapRef, imageURI',
        },
      ],
    },
  ),
  memorySize: int(
    'Memory in MB. CPU is proportional: 1769 MB is one vCPU, as in Lambda.',
    LIMITS.memorySize,
  ),
  timeout: int('The most seconds one invocation may run.', LIMITS.timeout),
  ephemeralStorage: obj(
    'The writable /tmp of each worker.',
    { size: int('Size of /tmp in MB.', LIMITS.ephemeralStorage) },
    { default: { size: LIMITS.ephemeralStorage.default } },
  ),
  environment: obj('The environment of the function.', {
    variables: {
      type: 'object',
      description: `Environment variables, name -> value; names and values together at most ${LIMITS.environmentBytes} bytes.`,
      additionalProperties: {
        type: 'string',
        description: 'The value of one variable.',
        maxLength: LIMITS.environmentBytes,
      },
      maxProperties: 1024,
      'x-kubernetes-validations': [
        {
          rule: "self.all(k, k.matches('^[a-zA-Z][a-zA-Z0-9_]*$'))",
          message: 'names must start with a letter and use [a-zA-Z0-9_]',
        },
        {
          rule: `self.map(k, bytes(k).size() + bytes(self[k]).size()).sum() <= ${LIMITS.environmentBytes}`,
          message: `total size of names and values exceeds the limit of ${LIMITS.environmentBytes} bytes`,
        },
      ],
    },
  }),
  reservedConcurrentExecutions: int(
    'Concurrency reserved for this function and its maximum; 0 throttles every invocation. Unset: the unreserved pool.',
    { min: 0, max: 100_000 },
  ),
  provisionedConcurrentExecutions: int(
    'Workers kept initialised at all times (the operator never scales below this); at most reservedConcurrentExecutions.',
    { min: 0, max: 100_000, default: 0 },
  ),
  provisionedConcurrencyConfigs: {
    type: 'array',
    description:
      "Provisioned concurrency of published versions and aliases, as Lambda's PutProvisionedConcurrencyConfig (which writes this list): environments of that version kept initialised.",
    maxItems: MAX_PROVISIONED_CONFIGS,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['qualifier'],
    items: obj(
      'The provisioned concurrency of one version or alias.',
      {
        qualifier: str('A published version number or an alias name (never $LATEST).', {
          minLength: 1,
          maxLength: 128,
          pattern: '^[a-zA-Z0-9-_]+$',
        }),
        provisionedConcurrentExecutions: int('Events kept initialised.', {
          min: 1,
          max: 100_000,
        }),
      },
      { required: ['qualifier', 'provisionedConcurrentExecutions'] },
    ),
  },
  perExecutionEnvironmentMaxConcurrency: int(
    'Events one worker runs at once (AWS_LAMBDA_MAX_CONCURRENCY), as Lambda Managed Instances do; quotas and scaling count events. Default 1: one event per environment.',
    // No schema default: an unset field stays unset, as in manifests read locally.
    {
      min: LIMITS.perExecutionEnvironmentMaxConcurrency.min,
      max: LIMITS.perExecutionEnvironmentMaxConcurrency.max,
    },
  ),
  functionEventInvokeConfig: obj(
    'How asynchronous invocations are retried and where their results go.',
    eventInvokeConfigProperties,
  ),
  recursiveLoop: str(
    "Recursive loop detection (Lambda's RecursiveLoop): Terminate stops a chain of invocations at the 17th of this function; Allow lets it run on. Unset: Terminate. PutFunctionRecursionConfig overrides it.",
    { enum: ['Allow', 'Terminate'] },
  ),
  snapStart: obj(
    "Lambda's SnapStart: with PublishedVersions, each published version is initialised once and its new environments start from that initialised state (Python: forked from the initialised interpreter). Runtimes: java*, python*, as Lambda; ephemeral storage at most 512 MB.",
    {
      applyOn: str('PublishedVersions: snapshot-restore for published versions; None: cold init.', {
        enum: [...SNAP_START_APPLY_ON],
      }),
    },
    { required: ['applyOn'] },
  ),
  layers: {
    type: 'array',
    description:
      "Lambda layer version ARNs (arn:aws:lambda:<region>:<account>:layer:<name>:<version>), extracted in order into the function's /opt; later layers overwrite earlier files.",
    maxItems: LAYERS_MAX,
    items: {
      type: 'string',
      description: 'A layer version ARN.',
      pattern: LAYER_VERSION_ARN.source,
    },
  },
  triggers: {
    type: 'array',
    description: 'Event sources that invoke the function.',
    maxItems: 100,
    items: trigger,
  },
  functionUrl,
  loggingConfig,
  publish: {
    type: 'boolean',
    description:
      'Publish a version (a FunctionVersion) whenever code or configuration change, as Lambda does for Publish: true; the operator makes it.',
  },
  aliases: {
    type: 'array',
    description:
      "Aliases: names that route calls to a published version (a FunctionVersion), or to two with weights, as Lambda's CreateAlias. The Lambda API's CreateAlias / UpdateAlias / DeleteAlias write this list.",
    maxItems: MAX_ALIASES,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['name'],
    items: obj(
      'One alias.',
      {
        name: str('The alias name: 1-128 of [a-zA-Z0-9-_], not only digits.', {
          minLength: 1,
          maxLength: 128,
          pattern: '^[a-zA-Z0-9-_]+$',
        }),
        functionVersion: str('The version it points at: a number, or $LATEST.', {
          pattern: '^(\\$LATEST|[0-9]+)$',
        }),
        description: str('What the alias is for.', { maxLength: 256 }),
        functionUrl,
        routingConfig: obj('Weighted routing to a second version.', {
          additionalVersionWeights: {
            type: 'object',
            description: 'One other version and the share of calls it takes, in [0, 1].',
            maxProperties: 1,
            additionalProperties: {
              type: 'number',
              description: 'The weight.',
              minimum: 0,
              maximum: 1,
            },
          },
        }),
      },
      {
        required: ['name', 'functionVersion'],
        // The API server's patterns are RE2, which has no lookahead for "not all digits".
        'x-kubernetes-validations': [
          {
            rule: "!self.name.matches('^[0-9]+$')",
            message: 'an alias name cannot be only digits (that is a version)',
            fieldPath: '.name',
          },
        ],
      },
    ),
  },
};

/** CEL: the runtime is one of those of the given families. */
const runtimeIn = (...families: string[]) =>
  `self.runtime in [${RUNTIMES.filter((r) => families.includes(runtimeFamily(r)))
    .map((r) => `'${r}'`)
    .join(', ')}]`;

const functionSpec: Schema = obj(
  'The desired function, with the fields of Lambda CreateFunction in camelCase.',
  functionSpecProperties,
  {
    required: ['runtime', 'code'],
    'x-kubernetes-validations': [
      {
        rule: `${runtimeIn('provided')} || has(self.handler)`,
        message: 'is required: a string of 1 to 128 characters (file.function)',
        fieldPath: '.handler',
        reason: 'FieldValueRequired',
      },
      {
        rule: `!(${runtimeIn('nodejs', 'python')}) || !has(self.handler) || self.handler.matches('^[^\\\\s]+[.][^\\\\s.]+$')`,
        message: 'must look like file.function',
        fieldPath: '.handler',
      },
      {
        rule: '!has(self.reservedConcurrentExecutions) || self.provisionedConcurrentExecutions <= self.reservedConcurrentExecutions',
        message: 'exceeds reservedConcurrentExecutions',
        fieldPath: '.provisionedConcurrentExecutions',
      },
    ],
  },
);

const functionStatus: Schema = obj('What the operator observed; written only by the operator.', {
  observedGeneration,
  conditions,
  replicas: { type: 'integer', description: 'Workers that exist (the worker Deployment status).' },
  readyReplicas: { type: 'integer', description: 'Workers that are ready to take invocations.' },
  desiredReplicas: {
    type: 'integer',
    description:
      'Workers the operator asks for: demand reported by the gateway, at least provisionedConcurrentExecutions.',
  },
  demand: {
    type: 'integer',
    description: 'Invocations in flight plus queued, as the gateway last reported them.',
  },
  functionArn: str('The Lambda-style ARN that addresses this function through the AWS SDK.'),
  versions: {
    type: 'array',
    description: 'The published versions (FunctionVersions), oldest first.',
    items: str('A version number.'),
  },
  aliases: {
    type: 'array',
    description: 'The aliases spec.aliases declares, as the gateways route them.',
    items: obj('An alias.', {
      name: str('The alias.'),
      functionVersion: str('The version it points at.'),
      additionalVersionWeights: {
        type: 'object',
        description: 'The second version and its share of calls.',
        additionalProperties: { type: 'number', description: 'The weight.' },
      },
    }),
  },
  lastError: str('The last error the operator met reconciling this function, empty when none.'),
});

const attributeName = str('The name of a key attribute.', { minLength: 1, maxLength: 255 });

const keySchema = (what: string): Schema => ({
  type: 'array',
  description: `The primary key of the ${what}: a HASH (partition) key, then optionally a RANGE (sort) key.`,
  minItems: 1,
  maxItems: 2,
  'x-kubernetes-list-type': 'atomic',
  items: obj(
    'One key attribute.',
    {
      attributeName,
      keyType: str('HASH for the partition key, RANGE for the sort key.', {
        enum: ['HASH', 'RANGE'],
      }),
    },
    { required: ['attributeName', 'keyType'] },
  ),
  'x-kubernetes-validations': [
    {
      rule: "self[0].keyType == 'HASH' && (self.size() == 1 || self[1].keyType == 'RANGE')",
      message: 'must list the HASH key first and at most one RANGE key after it',
    },
  ],
});

// DynamoDB's multi-attribute GSI keys: up to 4 HASH, then up to 4 RANGE.
const globalKeySchema: Schema = {
  ...keySchema('index'),
  description:
    'The key of the index: 1 to 4 HASH (partition) attributes, then up to 4 RANGE (sort) attributes, in order.',
  maxItems: 8,
  'x-kubernetes-validations': [
    {
      rule: [
        "self[0].keyType == 'HASH'",
        "self.filter(k, k.keyType == 'HASH').size() <= 4",
        "self.filter(k, k.keyType == 'RANGE').size() <= 4",
        // Element by element (CEL has no cheap index loop): a RANGE is followed by a RANGE.
        ...[1, 2, 3, 4, 5, 6, 7].map(
          (i) =>
            `(self.size() <= ${i} || self[${i - 1}].keyType == 'HASH' || self[${i}].keyType == 'RANGE')`,
        ),
      ].join(' && '),
      message: 'must list 1 to 4 HASH keys, then at most 4 RANGE keys',
    },
  ],
};

const throughput = (what: string): Schema =>
  obj(
    `Provisioned capacity of the ${what} (billingMode PROVISIONED).`,
    {
      readCapacityUnits: int('Strongly consistent reads of up to 4 KB per second.', {
        min: 1,
        max: 40_000,
      }),
      writeCapacityUnits: int('Writes of up to 1 KB per second.', { min: 1, max: 40_000 }),
    },
    { required: ['readCapacityUnits', 'writeCapacityUnits'] },
  );

const projection: Schema = obj(
  'Which attributes are copied into the index.',
  {
    projectionType: str('ALL, KEYS_ONLY or INCLUDE.', {
      enum: ['ALL', 'KEYS_ONLY', 'INCLUDE'],
      default: 'ALL',
    }),
    nonKeyAttributes: {
      type: 'array',
      description: 'With INCLUDE: the non-key attributes copied into the index.',
      maxItems: 100,
      items: attributeName,
    },
  },
  { default: { projectionType: 'ALL' } },
);

const scalingPolicy = (kind: string): Schema =>
  obj(
    `Target tracking of the ${kind} capacity, as Application Auto Scaling does it.`,
    {
      minCapacity: int('The least capacity units to provision.', { min: 1, max: 40_000 }),
      maxCapacity: int('The most capacity units to provision.', { min: 1, max: 40_000 }),
      targetUtilization: int('Percent of the provisioned units to keep consumed (20-90).', {
        min: 20,
        max: 90,
        default: 70,
      }),
      scaleOutCooldown: int('Seconds after a scale-out before the next one.', {
        min: 0,
        max: 86_400,
        default: 0,
      }),
      scaleInCooldown: int('Seconds after any scaling before a scale-in.', {
        min: 0,
        max: 86_400,
        default: 0,
      }),
    },
    {
      required: ['minCapacity', 'maxCapacity'],
      'x-kubernetes-validations': [
        {
          rule: 'self.minCapacity <= self.maxCapacity',
          message: 'minCapacity exceeds maxCapacity',
        },
      ],
    },
  );

const indexName = str('The index name: 3-255 characters of [a-zA-Z0-9_.-].', {
  pattern: '^[a-zA-Z0-9_.-]{3,255}$',
});

const tableSpec: Schema = obj(
  'The desired table, with the fields of DynamoDB CreateTable in camelCase.',
  {
    tableName: str(
      'The DynamoDB table name (3-255 of [a-zA-Z0-9_.-]); defaults to metadata.name. Immutable.',
      {
        pattern: '^[a-zA-Z0-9_.-]{3,255}$',
        'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'is immutable' }],
      },
    ),
    attributeDefinitions: {
      type: 'array',
      description: 'The type of every attribute used in a key of the table or an index.',
      minItems: 1,
      maxItems: 50,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['attributeName'],
      items: obj(
        'One key attribute and its type.',
        {
          attributeName,
          attributeType: str('S (string), N (number) or B (binary).', { enum: ['S', 'N', 'B'] }),
        },
        { required: ['attributeName', 'attributeType'] },
      ),
    },
    keySchema: {
      ...keySchema('table'),
      'x-kubernetes-validations': [
        ...keySchema('table')['x-kubernetes-validations']!,
        { rule: 'self == oldSelf', message: 'is immutable: a table key cannot change' },
      ],
    },
    billingMode: str('PAY_PER_REQUEST (on demand) or PROVISIONED.', {
      enum: ['PAY_PER_REQUEST', 'PROVISIONED'],
      default: 'PAY_PER_REQUEST',
    }),
    provisionedThroughput: throughput('table'),
    globalSecondaryIndexes: {
      type: 'array',
      description: 'Global secondary indexes (at most 20).',
      maxItems: 20,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['indexName'],
      items: obj(
        'One global secondary index.',
        {
          indexName,
          keySchema: globalKeySchema,
          projection,
          provisionedThroughput: throughput('index'),
        },
        { required: ['indexName', 'keySchema'] },
      ),
    },
    localSecondaryIndexes: {
      type: 'array',
      description:
        'Local secondary indexes (at most 5): same HASH key, another RANGE key. Immutable.',
      maxItems: 5,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['indexName'],
      items: obj(
        'One local secondary index.',
        { indexName, keySchema: keySchema('index'), projection },
        { required: ['indexName', 'keySchema'] },
      ),
      'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'is immutable' }],
    },
    streamSpecification: obj(
      'DynamoDB Streams: a stream of the item changes of the table, read through the Streams API by its ARN (status.latestStreamArn). Changing streamViewType makes a new stream.',
      {
        streamEnabled: { type: 'boolean', description: 'Whether the table has a stream.' },
        streamViewType: str(
          'What each record carries: KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES.',
          { enum: ['NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES', 'KEYS_ONLY'] },
        ),
      },
      {
        required: ['streamEnabled'],
        'x-kubernetes-validations': [
          {
            rule: 'self.streamEnabled == has(self.streamViewType)',
            message:
              'streamViewType is required when streamEnabled is true and not allowed otherwise',
          },
        ],
      },
    ),
    timeToLiveSpecification: obj(
      'Time to live: items whose attributeName holds a Number of epoch seconds in the past are deleted in the background.',
      {
        attributeName: str('The attribute holding the expiry time.', {
          minLength: 1,
          maxLength: 255,
        }),
        enabled: { type: 'boolean', description: 'Whether items expire.' },
      },
      { required: ['attributeName', 'enabled'] },
    ),
    tableClass: str(
      'STANDARD or STANDARD_INFREQUENT_ACCESS (on cql: the compaction and compression of the table, docs/tables.md).',
      // No schema default: unset stays unset, as parseTableManifest leaves it (STANDARD).
      { enum: ['STANDARD', 'STANDARD_INFREQUENT_ACCESS'] },
    ),
    cache: obj("The table service's DAX-style read cache for this table (off when absent or 0).", {
      itemTtlSeconds: int('Seconds GetItem / BatchGetItem answers are kept.', {
        min: 0,
        max: 86_400,
      }),
      queryTtlSeconds: int('Seconds Query / Scan pages are kept.', { min: 0, max: 86_400 }),
    }),
    autoScaling: obj(
      'Provisioned capacity moved toward a target utilization by the operator (billingMode PROVISIONED); it then owns the throughput of the kinds it scales.',
      { read: scalingPolicy('read'), write: scalingPolicy('write') },
    ),
    deletionProtectionEnabled: {
      type: 'boolean',
      description:
        'While true, deleting this resource keeps the table and its data (the resource waits, Ready=False, until this is set to false). On by default: a resource deleted by accident (a namespace, helm uninstall) must not take its data with it.',
      default: true,
    },
  },
  {
    required: ['attributeDefinitions', 'keySchema'],
    'x-kubernetes-validations': [
      {
        rule: "self.billingMode != 'PROVISIONED' || has(self.provisionedThroughput)",
        message: 'is required when billingMode is PROVISIONED',
        fieldPath: '.provisionedThroughput',
        reason: 'FieldValueRequired',
      },
      {
        rule: "self.billingMode != 'PAY_PER_REQUEST' || !has(self.provisionedThroughput)",
        message: 'must not be set when billingMode is PAY_PER_REQUEST',
        fieldPath: '.provisionedThroughput',
        reason: 'FieldValueForbidden',
      },
      {
        rule: 'has(self.tableName) == has(oldSelf.tableName)',
        message: 'cannot be added or removed after creation',
        fieldPath: '.tableName',
      },
      {
        rule: 'self.keySchema.all(k, self.attributeDefinitions.exists(a, a.attributeName == k.attributeName))',
        message: 'every key attribute must be listed in attributeDefinitions',
        fieldPath: '.keySchema',
      },
    ],
  },
);

const tableStatus: Schema = obj('What the operator observed; written only by the operator.', {
  observedGeneration,
  conditions,
  tableName: str('The DynamoDB table this resource manages.'),
  tableStatus: str('TableStatus from DescribeTable: CREATING, ACTIVE, UPDATING, DELETING.'),
  tableArn: str('TableArn from DescribeTable.'),
  latestStreamArn: str('LatestStreamArn from DescribeTable: the ARN a stream consumer reads.'),
  itemCount: { type: 'integer', description: 'ItemCount from DescribeTable (approximate).' },
  tableSizeBytes: {
    type: 'integer',
    description: 'TableSizeBytes from DescribeTable (approximate).',
  },
  lastError: str('The last error the operator met reconciling this table, empty when none.'),
});

const root = (kind: string, spec: Schema, status: Schema, rules: Rule[] = []): Schema => ({
  type: 'object',
  description: `A ${kind} (${API_VERSION}).`,
  required: ['spec'],
  properties: {
    apiVersion: str('The versioned schema of this representation of an object.'),
    kind: str('The REST resource this object represents.'),
    spec,
    status,
  },
  ...(rules.length > 0 ? { 'x-kubernetes-validations': rules } : {}),
});

export interface Crd {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: unknown;
}

function crd(opts: {
  kind: string;
  plural: string;
  shortNames: string[];
  schema: Schema;
  columns: {
    name: string;
    type: string;
    jsonPath: string;
    description: string;
    priority?: number;
  }[];
}): Crd {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${opts.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'selfless' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: opts.kind,
        listKind: `${opts.kind}List`,
        plural: opts.plural,
        singular: opts.kind.toLowerCase(),
        shortNames: opts.shortNames,
        categories: ['selfless'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...opts.columns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: opts.schema },
        },
      ],
    },
  };
}

const ready = {
  name: 'Ready',
  type: 'string',
  jsonPath: ".status.conditions[?(@.type=='Ready')].status",
  description: 'Whether the resource is reconciled and usable.',
};

export const functionCrd = crd({
  kind: 'Function',
  plural: 'functions',
  shortNames: ['fn', 'fns'],
  schema: root('Function', functionSpec, functionStatus, [
    {
      rule: `self.metadata.name.size() <= ${CLUSTER_NAME_MAX} && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')`,
      message: `metadata.name: a Function name must be a DNS label (lowercase letters, digits, '-') of at most ${CLUSTER_NAME_MAX} characters`,
    },
  ]),
  columns: [
    { name: 'Runtime', type: 'string', jsonPath: '.spec.runtime', description: 'The runtime.' },
    ready,
    {
      name: 'Replicas',
      type: 'integer',
      jsonPath: '.status.replicas',
      description: 'Workers that exist.',
    },
    {
      name: 'Memory',
      type: 'integer',
      jsonPath: '.spec.memorySize',
      description: 'Memory in MB.',
      priority: 1,
    },
    {
      name: 'Reason',
      type: 'string',
      jsonPath: ".status.conditions[?(@.type=='Ready')].reason",
      description: 'Why Ready has its status.',
      priority: 1,
    },
  ],
});

export const tableCrd = crd({
  kind: 'Table',
  plural: 'tables',
  shortNames: ['tbl'],
  schema: root('Table', tableSpec, tableStatus, [
    {
      rule: 'has(self.spec.tableName) || self.metadata.name.size() >= 3',
      message: 'metadata.name: a table name needs at least 3 characters; set spec.tableName',
    },
  ]),
  columns: [
    {
      name: 'Hash',
      type: 'string',
      jsonPath: '.spec.keySchema[0].attributeName',
      description: 'The partition (HASH) key.',
    },
    {
      name: 'Range',
      type: 'string',
      jsonPath: '.spec.keySchema[1].attributeName',
      description: 'The sort (RANGE) key.',
    },
    {
      name: 'Status',
      type: 'string',
      jsonPath: '.status.tableStatus',
      description: 'TableStatus from DescribeTable.',
    },
    ready,
  ],
});

const functionVersionSpec: Schema = obj(
  'A published version: the snapshot of its Function at PublishVersion. Immutable.',
  {
    functionName: str('The Function this is a version of.', { minLength: 1, maxLength: 63 }),
    version: str('The version number, from 1, never reused.', { pattern: '^[0-9]+$' }),
    description: str("PublishVersion's Description.", { maxLength: 256 }),
    definition: { ...functionSpec, description: "The Function's spec when it was published." },
  },
  {
    required: ['functionName', 'version', 'definition'],
    'x-kubernetes-validations': [
      { rule: 'self == oldSelf', message: 'a published version is immutable' },
    ],
  },
);

const functionVersionStatus: Schema = obj(
  'What the operator observed; written only by the operator.',
  {
    observedGeneration,
    conditions,
    replicas: { type: 'integer', description: 'Workers of this version that exist.' },
    readyReplicas: { type: 'integer', description: 'Workers of this version that are ready.' },
    desiredReplicas: { type: 'integer', description: 'Workers the operator asks for.' },
    demand: { type: 'integer', description: 'Calls of this version in flight plus queued.' },
    functionArn: str('The qualified ARN: the function ARN and :version.'),
    lastError: str('The last error reconciling this version, empty when none.'),
  },
);

export const functionVersionCrd = crd({
  kind: 'FunctionVersion',
  plural: 'functionversions',
  shortNames: ['fnv'],
  schema: root('FunctionVersion', functionVersionSpec, functionVersionStatus, [
    {
      rule: "self.metadata.name == self.spec.functionName + '-' + self.spec.version",
      message: 'metadata.name must be <spec.functionName>-<spec.version>',
    },
  ]),
  columns: [
    {
      name: 'Function',
      type: 'string',
      jsonPath: '.spec.functionName',
      description: 'The function.',
    },
    { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'The number.' },
    {
      name: 'Runtime',
      type: 'string',
      jsonPath: '.spec.definition.runtime',
      description: 'The runtime.',
    },
    ready,
    {
      name: 'Replicas',
      type: 'integer',
      jsonPath: '.status.replicas',
      description: 'Workers that exist.',
    },
  ],
});

const stringList = (description: string, item: string): Schema => ({
  type: 'array',
  description,
  maxItems: 15,
  items: str(item),
});

const layerVersionSpec: Schema = obj(
  'A published Lambda layer version (PublishLayerVersion). The content is immutable.',
  {
    layerName: str("The layer's name: 1-140 of [a-zA-Z0-9-_].", {
      minLength: 1,
      maxLength: 140,
      pattern: '^[a-zA-Z0-9-_]+$',
    }),
    version: { type: 'integer', description: 'The version number, from 1.', minimum: 1 },
    description: str('Description.', { maxLength: 256 }),
    licenseInfo: str('LicenseInfo.', { maxLength: 512 }),
    compatibleRuntimes: stringList('CompatibleRuntimes.', 'A runtime.'),
    compatibleArchitectures: stringList('CompatibleArchitectures.', 'x86_64 or arm64.'),
    createdDate: str("CreatedDate, in Lambda's form."),
    content: obj(
      'The zip and its hashes.',
      {
        zipFile: str('The zip, base64 (exactly one of zipFile, contentRef).', {
          pattern: '^[A-Za-z0-9+/=]+$',
        }),
        contentRef: contentRef('The zip'),
        codeSha256: str('SHA-256 of the zip, base64.'),
        codeSize: { type: 'integer', description: 'Bytes of the zip.' },
        unzippedSize: { type: 'integer', description: 'Bytes of its files.' },
      },
      {
        required: ['codeSha256', 'codeSize', 'unzippedSize'],
        'x-kubernetes-validations': [
          { rule: 'self == oldSelf', message: "a layer version's content is immutable" },
          {
            rule: 'has(self.zipFile) != has(self.contentRef)',
            message: 'must set exactly one of zipFile, contentRef',
          },
        ],
      },
    ),
    policy: obj(
      'Its permission statements (AddLayerVersionPermission).',
      {
        revisionId: str('RevisionId of the policy.'),
        statements: {
          type: 'array',
          description: 'Statements.',
          maxItems: 100,
          items: obj('A statement.', {
            sid: str('StatementId.'),
            action: str('Action.'),
            principal: str('Principal.'),
            organizationId: str('OrganizationId.'),
          }),
        },
      },
      { required: ['revisionId', 'statements'] },
    ),
    deleted: {
      type: 'boolean',
      description: 'DeleteLayerVersion: no longer listed; functions that use it still run it.',
    },
  },
  { required: ['layerName', 'version', 'createdDate', 'content', 'policy'] },
);

export const layerVersionCrd = crd({
  kind: 'LayerVersion',
  plural: 'layerversions',
  shortNames: ['lv'],
  // An empty properties map would be dropped by the API server, and a list it stores
  // unlike what was applied conflicts with every other field manager (helm, kubectl).
  schema: root(
    'LayerVersion',
    layerVersionSpec,
    obj('Nothing reconciles a layer version.', { observedGeneration }),
    [
      {
        rule: 'self.spec.version == oldSelf.spec.version && self.spec.layerName == oldSelf.spec.layerName',
        message: "a layer version's name and number are immutable",
      },
    ],
  ),
  columns: [
    { name: 'Layer', type: 'string', jsonPath: '.spec.layerName', description: 'The layer.' },
    { name: 'Version', type: 'integer', jsonPath: '.spec.version', description: 'The number.' },
    {
      name: 'Size',
      type: 'integer',
      jsonPath: '.spec.content.codeSize',
      description: 'Bytes of the zip.',
    },
    {
      name: 'Deleted',
      type: 'boolean',
      jsonPath: '.spec.deleted',
      description: 'DeleteLayerVersion was called.',
    },
  ],
});

export const CRDS = {
  'function.yaml': functionCrd,
  'functionversion.yaml': functionVersionCrd,
  'layerversion.yaml': layerVersionCrd,
  'table.yaml': tableCrd,
} as const;
