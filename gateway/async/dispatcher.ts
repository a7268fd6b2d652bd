// The dispatcher: claims events (each under a lease it keeps extending while the
// function runs), invokes them through the gateway's invoker (the same quotas and
// metrics as synchronous calls), and moves each on by Lambda's retry rules
// (policy.ts). A dispatcher that dies stops extending its leases; any other
// dispatcher's recoverExpiredLeases then makes those events ready again.
import { randomUUID } from 'node:crypto';
import { parseEventInvokeConfig, type FunctionDefinition } from '../../lib/function.ts';
import type { Logger } from '../../lib/log.ts';
import type { InvocationResult } from '../../lib/worker-channel/channel.ts';
import type { InvokeOutcome, InvokeRequest } from '../invoker.ts';
import { nextHop } from '../recursion.ts';
import type { FunctionRegistry } from '../registry.ts';
import type { EventInvokeConfigs } from './config.ts';
import {
  delivery,
  destinationKey,
  destinationRecord,
  parseDestination,
  type Condition,
  type LastFailure,
} from './destinations.ts';
import type { AsyncMetrics } from './metrics.ts';
import { decide, expired, type AttemptOutcome, type RetryDelays } from './policy.ts';
import { LeaseLost, type EventStore, type QueuedEvent } from './store.ts';

export type Invoke = (fn: FunctionDefinition, req: InvokeRequest) => Promise<InvokeOutcome>;

export interface DispatcherOptions {
  /** Events this dispatcher runs at once. */
  concurrency: number;
  /** Most events taken per claim. */
  batch: number;
  /** A lease not extended for this long is considered abandoned. */
  leaseMs: number;
  /** Wait between claims while the queue is empty. */
  pollMs: number;
  delays: RetryDelays;
}

const DEFAULT_CONFIG = parseEventInvokeConfig(undefined, '');

export function makeDispatcher(deps: {
  store: EventStore;
  registry: FunctionRegistry;
  invoke: Invoke;
  configs: EventInvokeConfigs;
  functionArn: (name: string) => string;
  metrics: AsyncMetrics;
  log: Logger;
  clock: () => number;
  options: DispatcherOptions;
}) {
  const { store, registry, invoke, configs, metrics, log, clock, options } = deps;
  const token = randomUUID();
  const inFlight = new Map<string, QueuedEvent>();
  let running = false;
  let loopDone: Promise<void> = Promise.resolve();
  let wakeUp: (() => void) | undefined;
  let maintenance: NodeJS.Timeout | undefined;

  const wake = () => {
    wakeUp?.();
    wakeUp = undefined;
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wakeUp = undefined;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function loop(): Promise<void> {
    while (running) {
      const free = options.concurrency - inFlight.size;
      if (free <= 0) {
        await pause(options.pollMs);
        continue;
      }
      let claimed: QueuedEvent[];
      try {
        claimed = await store.claim(Math.min(free, options.batch), options.leaseMs, token);
      } catch (err) {
        log.warn('claim failed', { err: (err as Error).message });
        await pause(options.pollMs * 10);
        continue;
      }
      if (claimed.length === 0) {
        await pause(options.pollMs);
        continue;
      }
      for (const e of claimed) {
        inFlight.set(e.id, e);
        void attempt(e).finally(() => {
          inFlight.delete(e.id);
          wake();
        });
      }
    }
  }

  async function keepLeases(): Promise<void> {
    try {
      await store.extendLeases([...inFlight.keys()], options.leaseMs, token);
      await store.recoverExpiredLeases(1000);
    } catch (err) {
      log.warn('lease upkeep failed', { err: (err as Error).message });
    }
  }

  function classify(out: InvokeOutcome | Error): {
    outcome: AttemptOutcome;
    result?: InvocationResult;
    failure?: LastFailure;
  } {
    if (out instanceof Error) {
      return {
        outcome: { kind: 'system_error', message: out.message },
        failure: { statusCode: 500, errorType: 'ServiceException', errorMessage: out.message },
      };
    }
    if (!out.ok) {
      const failure = {
        statusCode: out.error.status,
        errorType: out.error.type,
        errorMessage: out.error.message,
      };
      const kind = out.error.status === 429 ? 'throttle' : 'system_error';
      return { outcome: { kind, message: `${out.error.type}: ${out.error.message}` }, failure };
    }
    const { result } = out;
    if (result.functionError) {
      return {
        outcome: { kind: 'function_error', message: result.payload.toString('utf8', 0, 1000) },
        result,
      };
    }
    return { outcome: { kind: 'success' }, result };
  }

  async function attempt(e: QueuedEvent): Promise<void> {
    const now = clock();
    metrics.dispatchLag.observe(Math.max(0, now - e.dueAt) / 1000);
    const fn = registry.get(e.functionName);
    try {
      const cfg = fn ? await configs.effective(fn) : DEFAULT_CONFIG;
      const finish = async (
        condition: Condition,
        invokes: number,
        last: { result?: InvocationResult; failure?: LastFailure },
        dropped = false,
      ) => {
        const dest =
          condition === 'Success'
            ? cfg.destinationConfig.onSuccess
            : cfg.destinationConfig.onFailure;
        let target = dest && parseDestination(dest.destination);
        // A dropped event's record sent back to the function itself would be dropped
        // in turn, and its record with it, for ever: it stays a dead letter only.
        if (
          dropped &&
          target?.kind === 'function' &&
          destinationKey(target, e.functionName) === e.functionName
        ) {
          target = undefined;
        }
        const at = clock();
        // The destination's event goes on in the chain of the invocation that led to it.
        const traceId = nextHop(e.traceId, deps.functionArn(e.functionName), at).header;
        const record = destinationRecord({
          event: e,
          functionArn: deps.functionArn(e.functionName),
          condition,
          approximateInvokeCount: invokes,
          now: at,
          ...last,
        });
        if (condition === 'Success')
          await store.complete(e, token, delivery(target, record, e.functionName, traceId));
        else {
          metrics.deadLetters.inc({ function: e.functionName, condition });
          log.warn('event dead-lettered', {
            function: e.functionName,
            requestId: e.requestId,
            condition,
            invokes,
          });
          await store.deadLetter(
            e,
            token,
            condition,
            record,
            delivery(target, record, e.functionName, traceId),
          );
        }
      };

      if (expired(e, cfg, now)) {
        await finish('EventAgeExceeded', e.invokes, {
          failure: {
            statusCode: 500,
            errorType: 'EventAgeExceeded',
            errorMessage: 'The event was older than maximumEventAgeInSeconds.',
          },
        });
        return;
      }
      let out: InvokeOutcome | Error;
      if (!fn) out = new Error(`Function not found: ${e.functionName}`);
      else {
        try {
          out = await invoke(fn, {
            payload: Buffer.from(e.payload),
            requestId: e.requestId,
            ...(e.clientContext !== undefined && { clientContext: e.clientContext }),
            ...(e.traceId !== undefined && { traceId: e.traceId }),
          });
        } catch (err) {
          out = err instanceof Error ? err : new Error(String(err));
        }
      }
      // Lambda does not retry an event it stopped for recursion: it goes to the
      // on-failure destination (or dead-letter) at once.
      if (!(out instanceof Error) && !out.ok && out.error.type === 'RecursiveInvocationException') {
        const { status, type, message } = out.error;
        await finish(
          'RetriesExhausted',
          e.invokes,
          { failure: { statusCode: status, errorType: type, errorMessage: message } },
          true,
        );
        return;
      }
      const { outcome, result, failure } = classify(out);
      const invokes = e.invokes + (outcome.kind === 'throttle' ? 0 : 1);
      const d = decide(e, outcome, cfg, options.delays, clock());
      if (d.action === 'complete') await finish('Success', invokes, { result });
      else if (d.action === 'dead') {
        await finish(d.condition, invokes, {
          ...(result && { result }),
          ...(failure && { failure }),
        });
      } else {
        metrics.retries.inc({ cause: d.cause });
        await store.retry(e, token, d.dueAt, d.update);
      }
    } catch (err) {
      // Lease lost: another dispatcher has the event now. Store unreachable: the
      // lease runs out and the event runs again. Either way nothing is lost.
      if (!(err instanceof LeaseLost)) {
        log.warn('event outcome not recorded', {
          requestId: e.requestId,
          err: (err as Error).message,
        });
      }
    }
  }

  return {
    token,
    start(): void {
      if (running) return;
      running = true;
      loopDone = loop();
      maintenance = setInterval(() => void keepLeases(), Math.max(10, options.leaseMs / 3));
    },
    /** A new event is ready here: skip the rest of the idle wait. */
    wake,
    inFlight: () => inFlight.size,
    /** Stops claiming and waits for the events in flight. */
    async stop(): Promise<void> {
      running = false;
      wake();
      await loopDone;
      while (inFlight.size > 0) await new Promise((r) => setTimeout(r, 10));
      clearInterval(maintenance);
    },
  };
}

export type Dispatcher = ReturnType<typeof makeDispatcher>;
