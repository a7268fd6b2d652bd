// Helpers for the async tests: functions whose "runtime" is a JavaScript function
// in this process, so a test about the queue exercises the queue and not a runtime.
import {
  parseFunctionSpec,
  type FunctionDefinition,
  type FunctionEventInvokeConfig,
} from '../../lib/function.ts';
import type {
  InvocationResult,
  WorkerChannel,
  WorkerIdentity,
} from '../../lib/worker-channel/channel.ts';
import type { Driver } from '../../gateway/pool.ts';
import { lambdaErrors } from '../../gateway/errors.ts';
import type { InvokeOutcome, InvokeRequest } from '../../gateway/invoker.ts';

export function testFunction(
  name: string,
  eic: Partial<FunctionEventInvokeConfig> = {},
  extra: Record<string, unknown> = {},
): FunctionDefinition {
  const spec = parseFunctionSpec({
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: { inline: { 'index.js': '' } },
    ...extra,
  });
  if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
  spec.value.functionEventInvokeConfig = { ...spec.value.functionEventInvokeConfig, ...eic };
  return { name, namespace: 'default', spec: spec.value };
}

export type Behaviour = 'ok' | 'error' | 'throttle' | 'crash';

export function result(req: InvokeRequest, payload: unknown, error = false): InvocationResult {
  return {
    requestId: req.requestId ?? '',
    payload: Buffer.from(JSON.stringify(payload)),
    ...(error && { functionError: 'Unhandled' as const }),
    durationMs: 1,
    billedDurationMs: 1,
    maxMemoryUsedMB: 1,
  };
}

/** An outcome as the invoker would give it for each behaviour ('crash' throws). */
export function outcome(
  req: InvokeRequest,
  b: Behaviour,
  payload: unknown = 'done',
): InvokeOutcome {
  if (b === 'throttle') {
    return {
      ok: false,
      error: lambdaErrors.throttled('ReservedFunctionConcurrentInvocationLimitExceeded', 1),
    };
  }
  if (b === 'crash') throw new Error('environment lost');
  if (b === 'error') {
    return { ok: true, result: result(req, { errorType: 'Error', errorMessage: 'boom' }, true) };
  }
  return { ok: true, result: result(req, payload) };
}

export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export type Handler = (event: unknown) => Promise<unknown>;

/** A driver whose environments run JavaScript handlers in this process. */
export function inlineDriver(handlers: Record<string, Handler>): Driver {
  return {
    name: 'inline',
    start(fn: FunctionDefinition, worker: WorkerIdentity, hub: WorkerChannel) {
      const abort = new AbortController();
      const exited = (async () => {
        for (;;) {
          let inv;
          try {
            inv = await hub.next(worker, abort.signal);
          } catch {
            return;
          }
          let payload: unknown;
          let failed = false;
          try {
            payload = await handlers[fn.name]!(JSON.parse(inv.payload.toString()));
          } catch (err) {
            failed = true;
            payload = { errorType: 'Error', errorMessage: (err as Error).message };
          }
          await hub.complete(worker, {
            requestId: inv.requestId,
            payload: Buffer.from(JSON.stringify(payload ?? null)),
            ...(failed && { functionError: 'Unhandled' as const }),
            durationMs: 1,
            billedDurationMs: 1,
            maxMemoryUsedMB: 1,
          });
        }
      })();
      return Promise.resolve({ exited, stop: () => Promise.resolve(abort.abort()) });
    },
  };
}
