// POST /2015-03-31/functions/{FunctionName}/invocations: Lambda's Invoke API.
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { functionKey, type FunctionDefinition } from '../lib/function.ts';
import { LambdaError, asLambdaError, lambdaErrors, sendLambdaError } from './errors.ts';
import { lambdaArn, parseFunctionRef } from '../lib/names.ts';
import { functionArn, type Account, type Invoker } from './invoker.ts';
import type { FunctionRegistry } from './registry.ts';

export const SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024;
export const ASYNC_PAYLOAD_LIMIT = 1024 * 1024;

const INVOCATION_TYPES = ['RequestResponse', 'Event', 'DryRun'] as const;
type InvocationType = (typeof INVOCATION_TYPES)[number];

/** Hands an Event invocation to the async queue; resolves once it is durable. */
export type Enqueue = (
  fn: FunctionDefinition,
  event: { payload: Buffer; clientContext?: string; requestId: string; traceId?: string },
) => Promise<void>;

/** The body the Lambda API middleware read (size-limited, checked for signatures). */
export function requestBody(res: Response): Buffer {
  return (res.locals.body as Buffer | undefined) ?? Buffer.alloc(0);
}

/**
 * The key of the function a request names: a bare name in the caller's namespace
 * (always `default` outside a cluster), an ARN in the namespace of its account;
 * `arn` (with the qualifier) is what a not-found error names.
 */
export function resolveKey(
  account: Account,
  raw: string,
  qualifier?: string,
  callerNamespace = 'default',
): { key: string | undefined; qualifier: string | undefined; arn: string } {
  const ref = parseFunctionRef(raw);
  if (!ref) {
    throw lambdaErrors.validation(
      raw,
      'functionName',
      'Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?',
    );
  }
  const q = qualifier ?? ref.qualifier;
  let namespace: string | undefined = callerNamespace;
  if (ref.accountId !== undefined) {
    namespace = account.namespaceFor
      ? account.namespaceFor(ref.accountId)
      : ref.accountId === account.accountId
        ? 'default'
        : undefined;
  }
  const key = namespace === undefined ? undefined : functionKey(namespace, ref.name);
  const arn =
    key === undefined
      ? lambdaArn(account.region, ref.accountId!, ref.name)
      : functionArn(account, key);
  return { key, qualifier: q, arn: arn + (q !== undefined ? `:${q}` : '') };
}

/** The definition a request runs: $LATEST, a version, or an alias's (weighted) pick. */
export function resolveFunction(
  registry: FunctionRegistry,
  account: Account,
  raw: string,
  qualifier?: string,
  callerNamespace = 'default',
) {
  const ref = resolveKey(account, raw, qualifier, callerNamespace);
  const fn = ref.key === undefined ? undefined : registry.resolve(ref.key, ref.qualifier);
  if (!fn) throw lambdaErrors.notFound(ref.arn);
  return fn;
}

export function decodeClientContext(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  const json = Buffer.from(header, 'base64').toString('utf8');
  try {
    JSON.parse(json);
  } catch {
    throw new LambdaError(
      400,
      'InvalidRequestContentException',
      'Client context must be a valid Base64-encoded JSON object.',
    );
  }
  return json;
}

/**
 * Lambda refuses every call to a function still being created (Invoke and
 * InvokeWithResponseStream). A Failed function keeps today's behaviour (its calls wait
 * out the bound): Lambda's words for that state are not established.
 */
export function checkState(state: string | undefined): void {
  if (state === 'Pending') {
    throw new LambdaError(
      409,
      'ResourceConflictException',
      'The operation cannot be performed at this time. The function is currently in the following state: Pending',
    );
  }
}

export function makeInvokeHandler(deps: {
  registry: FunctionRegistry;
  account: Account;
  invoke: Invoker;
  enqueue?: Enqueue;
  callerNamespace?: (req: Request) => string;
  /** The function's State as GetFunction reports it (the catalog's, held in memory). */
  stateOf?: (fn: FunctionDefinition) => string;
}) {
  const { registry, account, invoke, enqueue, stateOf } = deps;
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const type = (req.header('x-amz-invocation-type') ?? 'RequestResponse') as InvocationType;
      if (!INVOCATION_TYPES.includes(type)) {
        throw lambdaErrors.validation(
          String(type),
          'invocationType',
          'Member must satisfy enum value set: [Event, RequestResponse, DryRun]',
        );
      }
      const qualifier = typeof req.query.Qualifier === 'string' ? req.query.Qualifier : undefined;
      const fn = resolveFunction(
        registry,
        account,
        String(req.params.name),
        qualifier,
        deps.callerNamespace?.(req),
      );
      checkState(stateOf?.(fn));
      const limit = type === 'Event' ? ASYNC_PAYLOAD_LIMIT : SYNC_PAYLOAD_LIMIT;
      let payload = requestBody(res);
      if (payload.length > limit) throw lambdaErrors.tooLarge(limit);
      if (payload.length === 0) payload = Buffer.from('{}');
      else {
        try {
          JSON.parse(payload.toString('utf8'));
        } catch (err) {
          throw lambdaErrors.invalidJson((err as Error).message);
        }
      }
      const clientContext = decodeClientContext(req.header('x-amz-client-context'));
      res.setHeader('X-Amz-Executed-Version', fn.version ?? '$LATEST');

      if (type === 'DryRun') {
        res.status(204).end();
        return;
      }
      if (type === 'Event') {
        if (!enqueue) {
          throw lambdaErrors.notImplemented(
            'Asynchronous invocation (InvocationType Event) is not available on this gateway yet.',
          );
        }
        const requestId = randomUUID();
        const traceId = req.header('x-amzn-trace-id');
        await enqueue(fn, {
          payload,
          requestId,
          ...(clientContext !== undefined && { clientContext }),
          ...(traceId !== undefined && { traceId }),
        });
        res.setHeader('x-amzn-RequestId', requestId);
        res.status(202).end();
        return;
      }

      const outcome = await invoke(fn, {
        payload,
        logTail: req.header('x-amz-log-type') === 'Tail',
        ...(clientContext !== undefined && { clientContext }),
        ...(req.header('x-amzn-trace-id') !== undefined && {
          traceId: req.header('x-amzn-trace-id')!,
        }),
      });
      if (!outcome.ok) throw outcome.error;
      const { result } = outcome;
      res.setHeader('x-amzn-RequestId', result.requestId);
      if (result.functionError) res.setHeader('X-Amz-Function-Error', result.functionError);
      if (result.logResult !== undefined) res.setHeader('X-Amz-Log-Result', result.logResult);
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': result.payload.length,
      });
      res.end(result.payload);
    } catch (err) {
      sendLambdaError(res, asLambdaError(err));
    }
  };
}
