// Every field a Function manifest may have, so that a misspelt one is refused
// (naming the nearest known name) instead of silently dropped: with
// `reservedConcurrentExecution: 0` ignored, a function meant to be throttled runs
// unthrottled. The CRD's schema must list the same fields (function-fields.test.ts
// checks that), so the three parsers (`selfless dev`, the gateway's watch, the
// operator) and the API server agree on what a Function is.
import { isObject, nearestName, type FieldError } from './parse.ts';

/** A field's own fields; `ANY` for free-form maps and values; `[Tree]` for a list's items. */
export type Tree = { readonly [field: string]: Tree | typeof ANY | readonly [Tree] };
export const ANY = 'any' as const;

const FUNCTION_URL = {
  authType: ANY,
  invokeMode: ANY,
  cors: {
    allowCredentials: ANY,
    allowHeaders: ANY,
    allowMethods: ANY,
    allowOrigins: ANY,
    exposeHeaders: ANY,
    maxAge: ANY,
  },
};

const destination: Tree = { destination: ANY };

export const FUNCTION_SPEC_FIELDS: Tree = {
  runtime: ANY,
  handler: ANY,
  code: {
    inline: ANY,
    zipFile: ANY,
    contentRef: { sha256: ANY, size: ANY, chunks: ANY, unzippedSize: ANY },
    configMapRef: { name: ANY },
    imageURI: ANY,
    // `selfless dev` only: a directory beside the manifest (the CRD has no such field).
    directory: ANY,
  },
  memorySize: ANY,
  timeout: ANY,
  ephemeralStorage: { size: ANY },
  environment: { variables: ANY },
  reservedConcurrentExecutions: ANY,
  provisionedConcurrentExecutions: ANY,
  provisionedConcurrencyConfigs: [{ qualifier: ANY, provisionedConcurrentExecutions: ANY }],
  perExecutionEnvironmentMaxConcurrency: ANY,
  functionEventInvokeConfig: {
    maximumRetryAttempts: ANY,
    maximumEventAgeInSeconds: ANY,
    destinationConfig: { onFailure: destination, onSuccess: destination },
  },
  functionUrl: FUNCTION_URL,
  loggingConfig: { logFormat: ANY, applicationLogLevel: ANY, systemLogLevel: ANY, logGroup: ANY },
  recursiveLoop: ANY,
  layers: ANY,
  snapStart: { applyOn: ANY },
  publish: ANY,
  aliases: [
    {
      name: ANY,
      functionVersion: ANY,
      description: ANY,
      functionUrl: FUNCTION_URL,
      routingConfig: { additionalVersionWeights: ANY },
    },
  ],
  triggers: [
    {
      http: { method: ANY, path: ANY },
      schedule: { expression: ANY, input: ANY },
      dynamodbStream: {
        table: ANY,
        startingPosition: ANY,
        batchSize: ANY,
        maximumBatchingWindowInSeconds: ANY,
        parallelizationFactor: ANY,
        maximumRetryAttempts: ANY,
        maximumRecordAgeInSeconds: ANY,
        tumblingWindowInSeconds: ANY,
        bisectBatchOnFunctionError: ANY,
        reportBatchItemFailures: ANY,
        functionResponseTypes: ANY,
        filterCriteria: { filters: [{ pattern: ANY }] },
        onFailure: { destination: ANY },
        enabled: ANY,
      },
    },
  ],
};

/** The fields Kubernetes gives every object's metadata; a manifest sets a few of them. */
const TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

function unknown(field: string, known: readonly string[]): string {
  const near = nearestName(field, known);
  return `unknown field${near ? ` (did you mean ${near}?)` : ''}`;
}

/** Every field of `value` that `tree` does not know, with the nearest known name. */
export function unknownFields(value: unknown, tree: Tree, path: string): FieldError[] {
  if (!isObject(value)) return [];
  const errors: FieldError[] = [];
  const known = Object.keys(tree);
  for (const [field, v] of Object.entries(value)) {
    const sub = tree[field];
    if (sub === undefined) {
      errors.push({
        field: `${path}.${field}`,
        message: unknown(field, known),
      });
    } else if (Array.isArray(sub)) {
      if (Array.isArray(v))
        v.forEach((item, i) =>
          errors.push(...unknownFields(item, sub[0], `${path}.${field}[${i}]`)),
        );
    } else if (sub !== ANY) {
      errors.push(...unknownFields(v, sub as Tree, `${path}.${field}`));
    }
  }
  return errors;
}

/** A Function document's unknown top-level and spec fields. */
export function unknownFunctionFields(doc: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of Object.keys(doc)) {
    if (!TOP_LEVEL.includes(field)) {
      errors.push({
        field,
        message: unknown(field, TOP_LEVEL),
      });
    }
  }
  return [...errors, ...unknownFields(doc.spec, FUNCTION_SPEC_FIELDS, 'spec')];
}
