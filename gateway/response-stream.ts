// POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations: Lambda's
// InvokeWithResponseStream. The answer is an event stream (lib/event-stream.ts):
// one PayloadChunk event per piece the runtime wrote, sent as it arrives, then one
// InvokeComplete event carrying ErrorCode / ErrorDetails / LogResult. A function
// that answers without streaming gets its whole response as one PayloadChunk.
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { encodeEvent } from '../lib/event-stream.ts';
import { keyOf, type FunctionDefinition } from '../lib/function.ts';
import type { InvocationResult } from '../lib/worker-channel/channel.ts';
import { asLambdaError, lambdaErrors, sendLambdaError } from './errors.ts';
import {
  SYNC_PAYLOAD_LIMIT,
  checkState,
  decodeClientContext,
  requestBody,
  resolveFunction,
} from './invoke.ts';
import type { Account, Invoker } from './invoker.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { FunctionRegistry } from './registry.ts';

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

/** Writes and waits while the socket is full; false once the client is gone. */
export async function write(res: Response, bytes: Buffer): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (res.write(bytes)) return true;
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/** The InvokeComplete event's fields for a result: an error document becomes ErrorCode/Details. */
export function completion(result: InvocationResult): Record<string, string> {
  const out: Record<string, string> = {};
  if (result.functionError) {
    let doc: { errorType?: unknown; errorMessage?: unknown } = {};
    try {
      doc = JSON.parse(result.payload.toString('utf8')) as typeof doc;
    } catch {
      // not JSON: the whole payload is the detail
    }
    const type = typeof doc.errorType === 'string' ? doc.errorType : undefined;
    out.ErrorCode =
      type ??
      (/Task timed out after/.test(String(doc.errorMessage)) ? 'Sandbox.Timedout' : 'Unhandled');
    out.ErrorDetails =
      typeof doc.errorMessage === 'string' ? doc.errorMessage : result.payload.toString('utf8');
  }
  if (result.logResult !== undefined) out.LogResult = result.logResult;
  return out;
}

export function makeInvokeWithResponseStreamHandler(deps: {
  registry: FunctionRegistry;
  account: Account;
  invoke: Invoker;
  metrics: GatewayMetrics;
  callerNamespace?: (req: Request) => string;
  /** The function's State as GetFunction reports it (the catalog's, held in memory). */
  stateOf?: (fn: FunctionDefinition) => string;
}) {
  const { registry, account, invoke, metrics, stateOf } = deps;
  return async (req: Request, res: Response): Promise<void> => {
    try {
      const type = req.header('x-amz-invocation-type') ?? 'RequestResponse';
      if (type !== 'RequestResponse' && type !== 'DryRun') {
        throw lambdaErrors.validation(
          type,
          'invocationType',
          'Member must satisfy enum value set: [RequestResponse, DryRun]',
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
      // Before the stream starts: the refusal is a plain error answer, as Invoke's.
      checkState(stateOf?.(fn));
      let payload = requestBody(res);
      if (payload.length > SYNC_PAYLOAD_LIMIT) throw lambdaErrors.tooLarge(SYNC_PAYLOAD_LIMIT);
      if (payload.length === 0) payload = Buffer.from('{}');
      else {
        try {
          JSON.parse(payload.toString('utf8'));
        } catch (err) {
          throw lambdaErrors.invalidJson((err as Error).message);
        }
      }
      const clientContext = decodeClientContext(req.header('x-amz-client-context'));
      res.setHeader('X-Amz-Executed-Version', '$LATEST');
      if (type === 'DryRun') {
        res.status(204).end();
        return;
      }

      const requestId = randomUUID();
      const key = keyOf(fn);
      let started = false;
      // The status and headers go out with the first byte of the function's stream.
      const begin = () => {
        if (started) return;
        started = true;
        res.status(200);
        res.setHeader('Content-Type', EVENT_STREAM_CONTENT_TYPE);
        res.setHeader('x-amzn-RequestId', requestId);
        res.flushHeaders();
      };
      const chunk = (bytes: Buffer) =>
        write(res, encodeEvent('PayloadChunk', 'application/octet-stream', bytes));
      const outcome = await invoke(fn, {
        payload,
        requestId,
        logTail: req.header('x-amz-log-type') === 'Tail',
        ...(clientContext !== undefined && { clientContext }),
        ...(req.header('x-amzn-trace-id') !== undefined && {
          traceId: req.header('x-amzn-trace-id')!,
        }),
        onStream: async (_head, body) => {
          begin();
          let open = true;
          for await (const piece of body) {
            metrics.streamedBytes.inc({ function: key }, piece.length);
            // A caller that went away does not stop the function: the rest is read and dropped.
            if (open) open = await chunk(piece);
          }
        },
      });
      if (!outcome.ok) {
        if (!started) throw outcome.error;
        res.end();
        return;
      }
      const { result } = outcome;
      begin();
      if (!result.streamed && !result.functionError && result.payload.length > 0) {
        await chunk(result.payload);
      }
      await write(
        res,
        encodeEvent(
          'InvokeComplete',
          'application/json',
          Buffer.from(JSON.stringify(completion(result))),
        ),
      );
      res.end();
    } catch (err) {
      if (!res.headersSent) sendLambdaError(res, asLambdaError(err));
      else res.end();
    }
  };
}
