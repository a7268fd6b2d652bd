// Wires the gateway: registry, quotas, hub, pool and the HTTP surface (Lambda's
// API, HTTP routes, /metrics). Everything it needs from outside is injected: the
// driver that starts environments, and optionally a limiter shared across
// replicas, the async enqueue, and an authenticator.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../lib/log.ts';
import { makeControlPlane } from './control-plane.ts';
import { asLambdaError, sendLambdaError, type LambdaError } from './errors.ts';
import { makeHttpRoutes } from './http-routes.ts';
import { WorkerHub } from './hub.ts';
import { makeInvokeHandler, type Enqueue } from './invoke.ts';
import { makeInvoker, type Account } from './invoker.ts';
import {
  DEFAULT_QUOTAS,
  InProcessLimiter,
  type AccountQuotas,
  type ConcurrencyLimiter,
} from './limiter.ts';
import { makeGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { WorkerPool, type Driver } from './pool.ts';
import type { FunctionRegistry } from './registry.ts';

/** Checks a Lambda API request's credentials; returns the error to answer, if any. */
export type Authenticate = (req: Request, body?: Buffer) => LambdaError | undefined;

export interface GatewayOptions {
  registry: FunctionRegistry;
  driver: Driver;
  log: Logger;
  account?: Account;
  quotas?: AccountQuotas;
  limiter?: ConcurrencyLimiter;
  metrics?: GatewayMetrics;
  enqueue?: Enqueue;
  authenticate?: Authenticate;
  idleTimeoutMs?: number;
}

export interface Gateway {
  app: Express;
  hub: WorkerHub;
  pool: WorkerPool;
  metrics: GatewayMetrics;
  registry: FunctionRegistry;
  account: Account;
  close(): Promise<void>;
}

export const DEFAULT_ACCOUNT: Account = { region: 'us-east-1', accountId: '000000000000' };

export function makeGateway(opts: GatewayOptions): Gateway {
  const { registry, log } = opts;
  const account = opts.account ?? DEFAULT_ACCOUNT;
  const quotas = opts.quotas ?? DEFAULT_QUOTAS;
  const limiter = opts.limiter ?? new InProcessLimiter(quotas, () => registry.reservedTotal());
  const metrics = opts.metrics ?? makeGatewayMetrics();
  const hub = new WorkerHub();
  const pool = new WorkerPool(hub, registry, opts.driver, {
    idleTimeoutMs: opts.idleTimeoutMs ?? 10 * 60_000,
    log,
    onColdStart: (fn) => metrics.coldStarts.inc({ function: fn }),
  });
  const invoke = makeInvoker({ account, limiter, hub, metrics });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => void res.json({ ok: true }));

  const lambdaApi = express.Router();
  if (opts.authenticate) {
    const authenticate = opts.authenticate;
    lambdaApi.use((req: Request, res: Response, next: NextFunction) => {
      const err = authenticate(req);
      if (err) sendLambdaError(res, err);
      else next();
    });
  }
  lambdaApi.post(
    '/2015-03-31/functions/:name/invocations',
    makeInvokeHandler({
      registry,
      account,
      invoke,
      ...(opts.enqueue && { enqueue: opts.enqueue }),
    }),
  );
  lambdaApi.use(makeControlPlane({ registry, account, quotas, limiter }));
  // Lambda's API paths start with a date (/2015-03-31/...); everything else may be an HTTP route.
  app.use((req, res, next) =>
    /^\/20\d\d-\d\d-\d\d\//.test(req.path) ? lambdaApi(req, res, next) : next(),
  );

  const routes = makeHttpRoutes({ registry, account, invoke });
  app.use((req, res, next) => {
    routes
      .handler(req, res, next)
      .catch((err: unknown) => sendLambdaError(res, asLambdaError(err)));
  });

  app.use((_req: Request, res: Response) => {
    res.status(404).json({ message: 'Not Found' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    log.error('request failed', { err });
    if (!res.headersSent) sendLambdaError(res, asLambdaError(err));
  });

  return {
    app,
    hub,
    pool,
    metrics,
    registry,
    account,
    close: () => pool.close(),
  };
}
