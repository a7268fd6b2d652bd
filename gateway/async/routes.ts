// The async API: Put/Update/Get/DeleteFunctionEventInvokeConfig as Lambda serves
// them, and (beyond Lambda) the dead letters of a function: list, inspect, redrive.
//   GET  /2019-09-25/functions/{name}/dead-letters?MaxItems=N
//   GET  /2019-09-25/functions/{name}/dead-letters/{requestId}
//   POST /2019-09-25/functions/{name}/dead-letters/{requestId}/redrive
//   POST /2019-09-25/functions/{name}/dead-letters/redrive?MaxItems=N   (all, newest first)
import { Router, type Request, type Response } from 'express';
import { LIMITS, keyOf, type FunctionEventInvokeConfig } from '../../lib/function.ts';
import { LambdaError, lambdaErrors, sendLambdaError } from '../errors.ts';
import { requestBody, resolveFunction } from '../invoke.ts';
import { functionArn, type Account } from '../invoker.ts';
import type { FunctionRegistry } from '../registry.ts';
import { isDefaultConfig, type EventInvokeConfigs } from './config.ts';
import { parseDestination } from './destinations.ts';
import { NotDeadLettered, type DeadLetter, type EventStore } from './store.ts';

const wrap =
  (fn: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
    try {
      await fn(req, res);
    } catch (err) {
      sendLambdaError(res, storeFailure(err));
    }
  };

/** The store failing (Redis unreachable) is a 5xx ServiceException, never a crash. */
function storeFailure(err: unknown): LambdaError {
  if (err instanceof LambdaError) return err;
  return lambdaErrors.service(`The async event store is unavailable: ${(err as Error).message}`);
}

type ApiDestinations = {
  OnSuccess?: { Destination?: string };
  OnFailure?: { Destination?: string };
};

interface ApiConfig {
  MaximumRetryAttempts?: unknown;
  MaximumEventAgeInSeconds?: unknown;
  DestinationConfig?: ApiDestinations;
}

function intIn(value: unknown, member: string, range: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw lambdaErrors.validation(String(value), member, 'Member must be an integer');
  }
  if (value < range.min) {
    throw lambdaErrors.validation(
      String(value),
      member,
      `Member must have value greater than or equal to ${range.min}`,
    );
  }
  if (value > range.max) {
    throw lambdaErrors.validation(
      String(value),
      member,
      `Member must have value less than or equal to ${range.max}`,
    );
  }
  return value;
}

function applyApiConfig(
  base: FunctionEventInvokeConfig,
  body: ApiConfig,
): FunctionEventInvokeConfig {
  const out: FunctionEventInvokeConfig = {
    ...base,
    destinationConfig: { ...base.destinationConfig },
  };
  if (body.MaximumRetryAttempts !== undefined) {
    out.maximumRetryAttempts = intIn(
      body.MaximumRetryAttempts,
      'maximumRetryAttempts',
      LIMITS.maximumRetryAttempts,
    );
  }
  if (body.MaximumEventAgeInSeconds !== undefined) {
    out.maximumEventAgeInSeconds = intIn(
      body.MaximumEventAgeInSeconds,
      'maximumEventAgeInSeconds',
      LIMITS.maximumEventAgeInSeconds,
    );
  }
  const dc = body.DestinationConfig;
  for (const [api, ours] of [
    ['OnSuccess', 'onSuccess'],
    ['OnFailure', 'onFailure'],
  ] as const) {
    const d = dc?.[api];
    if (d === undefined) continue;
    if (d.Destination === undefined || d.Destination === '') {
      delete out.destinationConfig[ours];
      continue;
    }
    if (typeof d.Destination !== 'string' || !parseDestination(d.Destination)) {
      throw lambdaErrors.invalidParameter(
        `The destination ARN ${String(d.Destination)} is invalid: use a Lambda function ARN, function:<name> or queue:<name>.`,
      );
    }
    out.destinationConfig[ours] = { destination: d.Destination };
  }
  return out;
}

function apiShape(arn: string, c: FunctionEventInvokeConfig, lastModified: number) {
  const dest = (d: { destination: string } | undefined) =>
    d ? { Destination: d.destination } : {};
  return {
    LastModified: lastModified / 1000,
    FunctionArn: `${arn}:$LATEST`,
    MaximumRetryAttempts: c.maximumRetryAttempts,
    MaximumEventAgeInSeconds: c.maximumEventAgeInSeconds,
    DestinationConfig: {
      OnSuccess: dest(c.destinationConfig.onSuccess),
      OnFailure: dest(c.destinationConfig.onFailure),
    },
  };
}

function deadLetterSummary(d: DeadLetter) {
  return {
    RequestId: d.event.requestId,
    Condition: d.condition,
    DeadAt: new Date(d.deadAt).toISOString(),
    EnqueuedAt: new Date(d.event.enqueuedAt).toISOString(),
    ApproximateInvokeCount: (
      JSON.parse(d.record) as { requestContext: { approximateInvokeCount: number } }
    ).requestContext.approximateInvokeCount,
  };
}

function maxItems(req: Request, dflt: number): number {
  if (req.query.MaxItems === undefined) return dflt;
  return intIn(Number(req.query.MaxItems), 'maxItems', { min: 1, max: 1000 });
}

export function makeAsyncRoutes(deps: {
  registry: FunctionRegistry;
  account: Account;
  store: EventStore;
  configs: EventInvokeConfigs;
  clock: () => number;
  /** A redriven event is ready: let the local dispatcher know. */
  onReady: () => void;
  callerNamespace?: (req: Request) => string;
}): Router {
  const { registry, account, store, configs, clock, callerNamespace } = deps;
  const router = Router();
  const fnOf = (req: Request) =>
    resolveFunction(registry, account, String(req.params.name), undefined, callerNamespace?.(req));
  const base = '/2019-09-25/functions/:name';

  // The Lambda API middleware has read the body already (app.ts).
  const body = (res: Response): ApiConfig => {
    const text = requestBody(res).toString('utf8');
    let b: unknown = {};
    try {
      if (text !== '') b = JSON.parse(text);
    } catch {
      b = undefined;
    }
    if (typeof b !== 'object' || b === null || Array.isArray(b)) {
      throw lambdaErrors.invalidJson('the request body must be a JSON object');
    }
    return b as ApiConfig;
  };

  router.put(
    `${base}/event-invoke-config`,
    wrap(async (req, res) => {
      const fn = fnOf(req);
      // Put replaces the whole configuration: what the request leaves out is reset.
      const config = applyApiConfig(defaults(), body(res));
      const saved = await configs.put(keyOf(fn), config, clock());
      res.json(apiShape(functionArn(account, keyOf(fn)), saved.config, saved.lastModified));
    }),
  );

  router.post(
    `${base}/event-invoke-config`,
    wrap(async (req, res) => {
      const fn = fnOf(req);
      const current = await configs.effective(fn);
      const saved = await configs.put(keyOf(fn), applyApiConfig(current, body(res)), clock());
      res.json(apiShape(functionArn(account, keyOf(fn)), saved.config, saved.lastModified));
    }),
  );

  router.get(
    `${base}/event-invoke-config`,
    wrap(async (req, res) => {
      const fn = fnOf(req);
      const stored = await configs.stored(keyOf(fn));
      const arn = functionArn(account, keyOf(fn));
      if (stored) {
        res.json(apiShape(arn, stored.config, stored.lastModified));
        return;
      }
      const spec = fn.spec.functionEventInvokeConfig;
      if (isDefaultConfig(spec)) {
        throw new LambdaError(
          404,
          'ResourceNotFoundException',
          `The function ${arn} doesn't have an EventInvokeConfig`,
        );
      }
      res.json(apiShape(arn, spec, 0));
    }),
  );

  router.delete(
    `${base}/event-invoke-config`,
    wrap(async (req, res) => {
      const fn = fnOf(req);
      await configs.delete(keyOf(fn));
      res.status(204).end();
    }),
  );

  router.get(
    `${base}/dead-letters`,
    wrap(async (req, res) => {
      const fn = fnOf(req);
      const list = await store.listDeadLetters(keyOf(fn), maxItems(req, 100));
      res.json({ DeadLetters: list.map(deadLetterSummary) });
    }),
  );

  router.post(
    `${base}/dead-letters/redrive`,
    wrap(async (req, res) => {
      const fn = fnOf(req);
      const list = await store.listDeadLetters(keyOf(fn), maxItems(req, 1000));
      for (const d of list) await store.redrive(keyOf(fn), d.event.id);
      if (list.length) deps.onReady();
      res.json({ Redriven: list.map((d) => d.event.requestId) });
    }),
  );

  router.get(
    `${base}/dead-letters/:id`,
    wrap(async (req, res) => {
      const fn = fnOf(req);
      const d = await store.getDeadLetter(keyOf(fn), String(req.params.id));
      if (!d) throw notDead(keyOf(fn), String(req.params.id));
      res.json({
        ...deadLetterSummary(d),
        Payload: d.event.payload,
        Record: JSON.parse(d.record) as unknown,
      });
    }),
  );

  router.post(
    `${base}/dead-letters/:id/redrive`,
    wrap(async (req, res) => {
      const fn = fnOf(req);
      const id = String(req.params.id);
      try {
        await store.redrive(keyOf(fn), id);
      } catch (err) {
        if (err instanceof NotDeadLettered) throw notDead(keyOf(fn), id);
        throw err;
      }
      deps.onReady();
      res.status(202).json({ RequestId: id });
    }),
  );

  return router;
}

function defaults(): FunctionEventInvokeConfig {
  return {
    maximumRetryAttempts: LIMITS.maximumRetryAttempts.default,
    maximumEventAgeInSeconds: LIMITS.maximumEventAgeInSeconds.default,
    destinationConfig: {},
  };
}

function notDead(fn: string, id: string): LambdaError {
  return new LambdaError(
    404,
    'ResourceNotFoundException',
    `Function ${fn} has no dead letter ${id}`,
  );
}
