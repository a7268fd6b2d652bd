// Wires the gateway: registry, quotas, hub, pool and the HTTP surface (Lambda's
// API, HTTP routes, /metrics). Everything it needs from outside is injected: the
// driver that starts environments, and optionally a limiter shared across
// replicas, the async enqueue, and an authenticator.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../lib/log.ts';
import { makeWorkerChannelRoutes } from '../lib/worker-channel/server.ts';
import { makeControlPlane } from './control-plane.ts';
import { asLambdaError, lambdaErrors, sendLambdaError, type LambdaError } from './errors.ts';
import { makeHttpRoutes } from './http-routes.ts';
import { WorkerHub, type HubOptions } from './hub.ts';
import type { SetReserved } from './lambda-api/kubernetes-reservations.ts';
import { SYNC_PAYLOAD_LIMIT, makeInvokeHandler, type Enqueue } from './invoke.ts';
import { BodyTooLarge, readBody } from './body.ts';
import type { AsyncFactory, AsyncService } from './async/service.ts';
import type { EventSourceFactory, EventSources } from './event-sources/service.ts';
import { functionArn, makeInvoker, type Account } from './invoker.ts';
import { makeInvokeWithResponseStreamHandler } from './response-stream.ts';
import { makeFunctionUrlApi } from './function-urls/api.ts';
import { makeFunctionUrlServer, matchUrl } from './function-urls/serve.ts';
import { FunctionUrlStore } from './function-urls/store.ts';
import {
  DEFAULT_QUOTAS,
  InProcessLimiter,
  type AccountQuotas,
  type ConcurrencyLimiter,
} from './limiter.ts';
import { makeGatewayMetrics, type GatewayMetrics } from './metrics.ts';
import { MemoryLayerStore, type LayerStore } from './layers/store.ts';
import { InProcessRecursionConfigStore, RecursionConfigs } from './recursion.ts';
import { WorkerPool, type Driver } from './pool.ts';
import type { FunctionRegistry } from './registry.ts';
import { FunctionCatalog } from './lambda-api/catalog.ts';
import { registryWriter } from './lambda-api/registry-writer.ts';
import { codeUploadLimit, makeDeploymentApi } from './lambda-api/router.ts';

/** Checks a Lambda API request's credentials; returns the error to answer, if any. */
export type Authenticate = (req: Request, body: Buffer) => LambdaError | undefined;

export interface GatewayOptions {
  registry: FunctionRegistry;
  /** Starts environments on demand (process driver). Without one, environments are
   * agents that connect on their own (pods) through the HTTP worker channel. */
  driver?: Driver;
  /** Serve the HTTP worker channel for remote agents; `token` guards it. */
  remoteWorkers?: { token?: string };
  log: Logger;
  account?: Account;
  quotas?: AccountQuotas;
  limiter?: ConcurrencyLimiter;
  metrics?: GatewayMetrics;
  enqueue?: Enqueue;
  /** The async queue, dispatcher and scheduler (gateway/async/service.ts makeAsync). */
  async?: AsyncFactory;
  /** Event source mappings from table streams (gateway/event-sources/service.ts). */
  eventSources?: EventSourceFactory;
  authenticate?: Authenticate;
  /** Cluster mode: the namespace a bare function name of this request means. */
  callerNamespace?: (req: Request) => string;
  /** Extra routes served before the Lambda API (cluster mode: the demand report). */
  routes?: express.Router;
  idleTimeoutMs?: number;
  /** How long a call may wait for an environment beyond its timeout (hub.ts HubOptions). */
  workerWait?: HubOptions;
  /**
   * Published layer versions; give the process driver the same store so it can
   * extract them. Default: kept in this process only.
   */
  layers?: LayerStore;
  /** Cluster mode: each account's (namespace's) layer versions, shared by every replica. */
  layersFor?: (namespace: string) => LayerStore;
  /** What the deployment API knows beside the registry; one writing into the registry by default. */
  catalog?: FunctionCatalog;
  /** Cluster mode: Put/DeleteFunctionConcurrency write the Function resource. */
  setReserved?: SetReserved;
}

export interface Gateway {
  app: Express;
  hub: WorkerHub;
  pool?: WorkerPool;
  metrics: GatewayMetrics;
  registry: FunctionRegistry;
  catalog: FunctionCatalog;
  account: Account;
  async?: AsyncService;
  eventSources?: EventSources;
  close(): Promise<void>;
}

export const DEFAULT_ACCOUNT: Account = { region: 'us-east-1', accountId: '000000000000' };

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/?]+)\/invocations(?:\?|$)/;

/** The function a `POST /2015-03-31/functions/{name}/invocations` names, decoded. */
function invokedName(req: Request): string | undefined {
  if (req.method !== 'POST') return undefined;
  const m = INVOKE_PATH.exec(req.url);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
}

export function makeGateway(opts: GatewayOptions): Gateway {
  const { registry, log } = opts;
  const account = opts.account ?? DEFAULT_ACCOUNT;
  const quotas = opts.quotas ?? DEFAULT_QUOTAS;
  const limiter = opts.limiter ?? new InProcessLimiter(quotas, () => registry.reservedTotal());
  const metrics = opts.metrics ?? makeGatewayMetrics();
  const catalog = opts.catalog ?? new FunctionCatalog(registry, registryWriter(registry));
  const hub = new WorkerHub(opts.workerWait);
  hub.on('waitExpired', (fn) => metrics.workerWaitExpired.inc({ function: fn }));
  const pool =
    opts.driver &&
    new WorkerPool(hub, registry, opts.driver, {
      idleTimeoutMs: opts.idleTimeoutMs ?? 10 * 60_000,
      log,
      onColdStart: (fn) => metrics.coldStarts.inc({ function: fn }),
    });
  // PutFunctionRecursionConfig's settings live in the async event store (made below,
  // before any call), beside the event invoke configs; in this process without one.
  const local = new InProcessRecursionConfigStore();
  const recursion = new RecursionConfigs({
    getRecursiveLoop: (fn) => (asyncService?.store ?? local).getRecursiveLoop(fn),
    putRecursiveLoop: (fn, value) => (asyncService?.store ?? local).putRecursiveLoop(fn, value),
  });
  const invoke = makeInvoker({
    account,
    limiter,
    hub,
    metrics,
    log,
    recursiveLoop: (fn) => recursion.effective(fn),
  });
  const asyncService = opts.async?.({
    registry,
    account,
    functionArn: (name) => functionArn(account, name),
    invoke,
    ...(opts.callerNamespace && { callerNamespace: opts.callerNamespace }),
    metricsRegistry: metrics.registry,
    log,
  });
  const enqueue = opts.enqueue ?? asyncService?.enqueue;
  const eventSources = opts.eventSources?.({
    registry,
    account,
    invoke,
    metricsRegistry: metrics.registry,
    log,
    ...(asyncService && { events: asyncService.store }),
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const invokeHandler = makeInvokeHandler({
    registry,
    account,
    invoke,
    stateOf: (fn) => catalog.stateOf(fn),
    ...(enqueue && { enqueue }),
    ...(opts.callerNamespace && { callerNamespace: opts.callerNamespace }),
  });
  // Invoke is the hot path: taken here instead of after the function URL, metrics,
  // route and Lambda API layers, which Express would try one by one (their walk
  // was ~10 % of the gateway's CPU per call in bench/invoke). Whatever this exact
  // form does not match (another case, a trailing slash, a function URL's host)
  // takes the general path below, to the same handler.
  app.use((req, res, next) => {
    const name = invokedName(req);
    if (name === undefined || matchUrl(req.headers.host, req.originalUrl)) return next();
    req.params = { name };
    lambdaBody(req, res, () => void invokeHandler(req, res));
  });

  // Function URLs first: a URL's paths are the function's, whatever they look like.
  const urls = new FunctionUrlStore(registry, account, undefined, catalog.sharesAliases);
  const serveUrls = makeFunctionUrlServer({
    registry,
    account,
    invoke,
    store: urls,
    metrics,
    ...(opts.authenticate && { authenticate: opts.authenticate }),
  });
  app.use((req, res, next) => {
    serveUrls(req, res, next).catch((err: unknown) => next(err));
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  if (opts.routes) app.use(opts.routes);
  if (opts.remoteWorkers) {
    const workerRoutes = makeWorkerChannelRoutes(hub, opts.remoteWorkers);
    app.use((req, res, next) => {
      if (!workerRoutes(req, res)) next();
    });
  }

  const lambdaApi = express.Router();
  // Every Lambda API call's body is read once, size-limited, before anything else:
  // a SigV4 signature covers the body's hash.
  const lambdaBody = (req: Request, res: Response, next: NextFunction) => {
    const upload = codeUploadLimit(req);
    readBody(req, upload?.limit ?? SYNC_PAYLOAD_LIMIT).then(
      (body) => {
        res.locals.body = body;
        const err = opts.authenticate?.(req, body);
        if (err) sendLambdaError(res, err);
        else next();
      },
      (err: unknown) =>
        sendLambdaError(
          res,
          err instanceof BodyTooLarge
            ? (upload?.tooLarge() ?? lambdaErrors.tooLarge(SYNC_PAYLOAD_LIMIT))
            : asLambdaError(err),
        ),
    );
  };
  lambdaApi.use(lambdaBody);
  lambdaApi.post('/2015-03-31/functions/:name/invocations', invokeHandler);
  lambdaApi.post(
    '/2021-11-15/functions/:name/response-streaming-invocations',
    makeInvokeWithResponseStreamHandler({
      registry,
      account,
      invoke,
      metrics,
      stateOf: (fn) => catalog.stateOf(fn),
      ...(opts.callerNamespace && { callerNamespace: opts.callerNamespace }),
    }),
  );
  lambdaApi.use(
    makeFunctionUrlApi({
      registry,
      catalog,
      account,
      store: urls,
      metrics,
      ...(opts.callerNamespace && { callerNamespace: opts.callerNamespace }),
    }),
  );
  if (asyncService) lambdaApi.use(asyncService.router);
  lambdaApi.use(
    makeDeploymentApi(
      {
        registry,
        catalog,
        account,
        recursion,
        layers: opts.layers ?? new MemoryLayerStore(),
        ...(opts.layersFor && { layersFor: opts.layersFor }),
        ...(opts.callerNamespace && { callerNamespace: opts.callerNamespace }),
        ...(eventSources && { eventSources }),
      },
      metrics,
      {
        quotas,
        // In a cluster (no pool here) the workers connected to this replica.
        environmentsUp: (key) =>
          pool
            ? pool.count(key, 'idle') + pool.count(key, 'busy')
            : hub.idleWorkers(key).length + hub.runningCount(key),
      },
    ),
  );
  lambdaApi.use(
    makeControlPlane({
      registry,
      catalog,
      account,
      quotas,
      limiter,
      ...(opts.callerNamespace && { callerNamespace: opts.callerNamespace }),
      ...(opts.setReserved && { setReserved: opts.setReserved }),
    }),
  );
  // Lambda's API paths start with a date (/2015-03-31/...); everything else may be an HTTP route.
  app.use((req, res, next) =>
    /^\/20\d\d-\d\d-\d\d\//.test(req.path) ? lambdaApi(req, res, next) : next(),
  );

  const routes = makeHttpRoutes({ registry, account, invoke, metrics });
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
    catalog,
    account,
    ...(asyncService && { async: asyncService }),
    ...(eventSources && { eventSources }),
    close: async () => {
      await eventSources?.close();
      await asyncService?.close();
      await pool?.close();
    },
  };
}
