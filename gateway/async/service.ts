// Composes the async side of a gateway: the enqueue behind Event invocations, the
// dispatcher, the scheduler, the async API routes and the metrics, over one event
// store. makeGateway calls the factory with what only it has (invoker, metrics).
import { keyOf } from '../../lib/function.ts';
import type { Request, Router } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../../lib/log.ts';
import { lambdaErrors } from '../errors.ts';
import type { Enqueue } from '../invoke.ts';
import type { Account } from '../invoker.ts';
import type { FunctionRegistry } from '../registry.ts';
import { makeScheduler, type Scheduler } from '../schedules/scheduler.ts';
import { EventInvokeConfigs } from './config.ts';
import {
  makeDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  type Invoke,
} from './dispatcher.ts';
import { makeAsyncMetrics, type AsyncMetrics } from './metrics.ts';
import { LAMBDA_DELAYS } from './policy.ts';
import { makeAsyncRoutes } from './routes.ts';
import { traceHeaderOf } from '../recursion.ts';
import type { EventStore } from './store.ts';

export interface AsyncOptions {
  store: EventStore;
  clock?: () => number;
  /** Run a dispatcher in this process (default true). */
  dispatch?: boolean;
  dispatcher?: Partial<DispatcherOptions>;
  /** Run the scheduler in this process (default true). */
  schedule?: boolean;
  /** How often the scheduler looks for due ticks (default 5 s). */
  scheduleCheckMs?: number;
  /** How long an API-set event invoke configuration is cached (default 1 s). */
  configCacheMs?: number;
}

export interface AsyncContext {
  registry: FunctionRegistry;
  account: Account;
  functionArn: (name: string) => string;
  invoke: Invoke;
  metricsRegistry: Registry;
  log: Logger;
  callerNamespace?: (req: Request) => string;
}

export interface AsyncService {
  store: EventStore;
  enqueue: Enqueue;
  router: Router;
  dispatcher?: Dispatcher;
  scheduler?: Scheduler;
  metrics: AsyncMetrics;
  close(): Promise<void>;
}

export type AsyncFactory = (ctx: AsyncContext) => AsyncService;

export const DEFAULT_DISPATCHER: DispatcherOptions = {
  concurrency: 64,
  batch: 32,
  leaseMs: 30_000,
  pollMs: 100,
  delays: LAMBDA_DELAYS,
};

export function makeAsync(opts: AsyncOptions): AsyncFactory {
  return (ctx) => {
    const { store } = opts;
    const clock = opts.clock ?? Date.now;
    const metrics = makeAsyncMetrics(ctx.metricsRegistry, store, clock);
    const configs = new EventInvokeConfigs(store, opts.configCacheMs ?? 1_000);
    const log = ctx.log;

    let dispatcher: Dispatcher | undefined;
    if (opts.dispatch ?? true) {
      dispatcher = makeDispatcher({
        store,
        registry: ctx.registry,
        invoke: ctx.invoke,
        configs,
        functionArn: ctx.functionArn,
        metrics,
        log,
        clock,
        options: { ...DEFAULT_DISPATCHER, ...opts.dispatcher },
      });
      dispatcher.start();
    }
    const onReady = () => dispatcher?.wake();

    let scheduler: Scheduler | undefined;
    if (opts.schedule ?? true) {
      scheduler = makeScheduler({
        store,
        registry: ctx.registry,
        account: ctx.account,
        clock,
        log,
        onFired: (fn) => {
          metrics.scheduleFirings.inc({ function: fn });
          onReady();
        },
      });
      scheduler.start(opts.scheduleCheckMs ?? 5_000);
    }

    const enqueue: Enqueue = async (fn, event) => {
      try {
        await store.enqueue({
          id: event.requestId,
          functionName: keyOf(fn),
          payload: event.payload.toString('utf8'),
          requestId: event.requestId,
          ...(event.clientContext !== undefined && { clientContext: event.clientContext }),
          // Made once here, so every attempt and destination of the event is one trace.
          traceId: traceHeaderOf(event.traceId, clock()),
        });
      } catch (err) {
        log.warn('event not accepted', { function: keyOf(fn), err: (err as Error).message });
        throw lambdaErrors.service('The event could not be stored; it was not accepted.');
      }
      onReady();
    };

    return {
      store,
      enqueue,
      router: makeAsyncRoutes({
        registry: ctx.registry,
        account: ctx.account,
        store,
        configs,
        clock,
        onReady,
        ...(ctx.callerNamespace && { callerNamespace: ctx.callerNamespace }),
      }),
      metrics,
      ...(dispatcher && { dispatcher }),
      ...(scheduler && { scheduler }),
      async close() {
        scheduler?.stop();
        await dispatcher?.stop();
        await store.close();
      },
    };
  };
}
