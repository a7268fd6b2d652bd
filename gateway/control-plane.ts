// Lambda's read and concurrency APIs: GetFunction, ListFunctions,
// GetAccountSettings, Put/Get/DeleteFunctionConcurrency. Functions themselves are
// declared (manifests, Function resources), not created through this API.
import { createHash } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { keyOf, type FunctionDefinition } from '../lib/function.ts';
import { capacityProviderArn, roleArn } from '../lib/names.ts';
import { asLambdaError, lambdaErrors, sendLambdaError } from './errors.ts';
import { requestBody, resolveFunction } from './invoke.ts';
import { functionArn, type Account } from './invoker.ts';
import { checkReservation, type AccountQuotas, type ConcurrencyLimiter } from './limiter.ts';
import type { FunctionRegistry } from './registry.ts';

function configuration(account: Account, fn: FunctionDefinition) {
  const code = JSON.stringify(fn.spec.code);
  const image = fn.spec.code.imageURI !== undefined;
  return {
    FunctionName: fn.name,
    FunctionArn: functionArn(account, keyOf(fn)),
    Runtime: image ? undefined : fn.spec.runtime,
    Handler: image ? undefined : fn.spec.handler,
    CodeSize: Buffer.byteLength(code),
    CodeSha256: createHash('sha256').update(code).digest('base64'),
    Description: '',
    Timeout: fn.spec.timeout,
    MemorySize: fn.spec.memorySize,
    EphemeralStorage: { Size: fn.spec.ephemeralStorage.size },
    Environment: { Variables: fn.spec.environment.variables },
    Version: '$LATEST',
    PackageType: image ? 'Image' : 'Zip',
    Architectures: ['x86_64'],
    State: 'Active',
    LastUpdateStatus: 'Successful',
    Role: roleArn(account.accountId, `selfless-${fn.namespace}`),
    ...(fn.spec.perExecutionEnvironmentMaxConcurrency !== undefined && {
      CapacityProviderConfig: {
        LambdaManagedInstancesCapacityProviderConfig: {
          CapacityProviderArn: capacityProviderArn(
            account.region,
            account.accountIdFor?.(fn.namespace) ?? account.accountId,
          ),
          PerExecutionEnvironmentMaxConcurrency: fn.spec.perExecutionEnvironmentMaxConcurrency,
        },
      },
    }),
  };
}

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
  account: Account;
  quotas: AccountQuotas;
  limiter: ConcurrencyLimiter;
  callerNamespace?: (req: Request) => string;
}): Router {
  const { registry, account, quotas } = deps;
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
    '/2015-03-31/functions/:name',
    wrap((req, res) => {
      const fn = fnOf(req);
      const concurrency =
        fn.spec.reservedConcurrentExecutions === undefined
          ? undefined
          : { ReservedConcurrentExecutions: fn.spec.reservedConcurrentExecutions };
      res.json({
        Configuration: configuration(account, fn),
        Code: fn.spec.code.imageURI
          ? { RepositoryType: 'ECR', ImageUri: fn.spec.code.imageURI }
          : { RepositoryType: 'Selfless' },
        ...(concurrency && { Concurrency: concurrency }),
      });
    }),
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
        Functions: page.map((fn) => configuration(account, fn)),
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
    wrap((req, res) => {
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
      registry.setReserved(keyOf(fn), value);
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
    wrap((req, res) => {
      registry.setReserved(keyOf(fnOf(req)), undefined);
      res.status(204).end();
    }),
  );

  return router;
}
