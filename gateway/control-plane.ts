// Lambda's account and concurrency APIs: ListFunctions, GetAccountSettings,
// Put/Get/DeleteFunctionConcurrency. GetFunction and everything that deploys is in
// lambda-api/.
import { Router, type Request, type Response } from 'express';
import { keyOf } from '../lib/function.ts';
import { asLambdaError, lambdaErrors, sendLambdaError } from './errors.ts';
import { requestBody, resolveFunction } from './invoke.ts';
import type { Account } from './invoker.ts';
import { checkReservation, type AccountQuotas, type ConcurrencyLimiter } from './limiter.ts';
import type { FunctionRegistry } from './registry.ts';
import type { FunctionCatalog } from './lambda-api/catalog.ts';
import { functionConfiguration } from './lambda-api/configuration.ts';
import type { SetReserved } from './lambda-api/kubernetes-reservations.ts';

function parseJsonBody(res: Response): Record<string, unknown> {
  const text = requestBody(res).toString('utf8');
  if (text === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v))
      return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw lambdaErrors.invalidJson('the request body must be a JSON object');
}

const wrap =
  (fn: (req: Request, res: Response) => void | Promise<void>) =>
  async (req: Request, res: Response) => {
    try {
      await fn(req, res);
    } catch (err) {
      sendLambdaError(res, asLambdaError(err));
    }
  };

export function makeControlPlane(deps: {
  registry: FunctionRegistry;
  catalog: FunctionCatalog;
  account: Account;
  quotas: AccountQuotas;
  limiter: ConcurrencyLimiter;
  callerNamespace?: (req: Request) => string;
  /** Cluster mode: writes the reservation to the Function resource, for every replica. */
  setReserved?: SetReserved;
}): Router {
  const { registry, account, quotas } = deps;
  const setReserved =
    deps.setReserved ?? (async (fn, reserved) => registry.setReserved(keyOf(fn), reserved));
  const router = Router();
  const fnOf = (req: Request) =>
    resolveFunction(
      registry,
      account,
      String(req.params.name),
      undefined,
      deps.callerNamespace?.(req),
    );

  router.get(
    ['/2015-03-31/functions', '/2015-03-31/functions/'],
    wrap((req, res) => {
      const max = req.query.MaxItems === undefined ? 50 : Number(req.query.MaxItems);
      if (!Number.isInteger(max) || max < 1 || max > 10000) {
        throw lambdaErrors.validation(
          String(req.query.MaxItems),
          'maxItems',
          'Member must have value between 1 and 10000',
        );
      }
      const all = registry.list();
      const start = typeof req.query.Marker === 'string' ? Number(req.query.Marker) : 0;
      if (!Number.isInteger(start) || start < 0)
        throw lambdaErrors.invalidParameter('Invalid marker');
      const page = all.slice(start, start + max);
      res.json({
        Functions: page.map((fn) =>
          functionConfiguration(account, fn, deps.catalog.get(keyOf(fn))!.meta),
        ),
        ...(start + max < all.length && { NextMarker: String(start + max) }),
      });
    }),
  );

  router.get(
    '/2016-08-19/account-settings',
    wrap((_req, res) => {
      res.json({
        AccountLimit: {
          TotalCodeSize: 80530636800,
          CodeSizeUnzipped: 262144000,
          CodeSizeZipped: 52428800,
          ConcurrentExecutions: quotas.accountLimit,
          UnreservedConcurrentExecutions: quotas.accountLimit - registry.reservedTotal(),
        },
        AccountUsage: { TotalCodeSize: 0, FunctionCount: registry.list().length },
      });
    }),
  );

  router.put(
    '/2017-10-31/functions/:name/concurrency',
    wrap(async (req, res) => {
      const fn = fnOf(req);
      const value = parseJsonBody(res).ReservedConcurrentExecutions;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        throw lambdaErrors.validation(
          String(value),
          'reservedConcurrentExecutions',
          'Member must have value greater than or equal to 0',
        );
      }
      const refusal = checkReservation(quotas, registry.reservedTotal(keyOf(fn)), value);
      if (refusal) throw lambdaErrors.invalidParameter(refusal);
      await setReserved(fn, value);
      res.json({ ReservedConcurrentExecutions: value });
    }),
  );

  router.get(
    '/2019-09-30/functions/:name/concurrency',
    wrap((req, res) => {
      const fn = fnOf(req);
      const r = fn.spec.reservedConcurrentExecutions;
      res.json(r === undefined ? {} : { ReservedConcurrentExecutions: r });
    }),
  );

  router.delete(
    '/2017-10-31/functions/:name/concurrency',
    wrap(async (req, res) => {
      await setReserved(fnOf(req), undefined);
      res.status(204).end();
    }),
  );

  return router;
}
