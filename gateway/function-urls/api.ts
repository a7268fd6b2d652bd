// Lambda's Function URL API: Create/Get/Update/DeleteFunctionUrlConfig on
// /2021-10-31/functions/{name}/url (`Qualifier`: an alias) and
// ListFunctionUrlConfigs on /2021-10-31/functions/{name}/urls. The function's own
// URL is written into its definition (`functionUrl`, so a cluster keeps it in the
// Function resource); an alias's is kept by the store. Each action counts itself
// in selfless_lambda_api_requests_total; SigV4 is checked before, by the Lambda API
// middleware.
import { Router, type Request, type Response } from 'express';
import { functionArn, type Account } from '../invoker.ts';
import { asLambdaError, lambdaErrors, sendLambdaError } from '../errors.ts';
import type { FunctionCatalog } from '../lambda-api/catalog.ts';
import { target, type LookupContext } from '../lambda-api/context.ts';
import { apiErrors } from '../lambda-api/errors.ts';
import { jsonBody } from '../lambda-api/request.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { FunctionRegistry } from '../registry.ts';
import { URL_QUALIFIER, corsShape, parseUrlConfig, type UrlConfig } from './config.ts';
import { urlTimestamp, type FunctionUrlStore, type UrlEntry } from './store.ts';

export interface FunctionUrlApiDeps {
  registry: FunctionRegistry;
  catalog: FunctionCatalog;
  account: Account;
  store: FunctionUrlStore;
  metrics: GatewayMetrics;
  callerNamespace?: (req: Request) => string;
  /** The URL clients reach a url-id at; by default this gateway's `/_url/<id>/`. */
  publicUrl?: (id: string, req: Request) => string;
}

/** Where a client reaches a URL on this gateway: the host it called the API on. */
export function gatewayUrl(id: string, req: Request): string {
  const proto = req.header('x-forwarded-proto')?.split(',')[0]?.trim() || req.protocol;
  return `${proto}://${req.header('host') ?? 'localhost'}/_url/${id}/`;
}

const notFound = () => apiErrors.notFound('The resource you requested does not exist.');

export function makeFunctionUrlApi(deps: FunctionUrlApiDeps): Router {
  const { store, account, metrics } = deps;
  const ctx: LookupContext = {
    registry: deps.registry,
    catalog: deps.catalog,
    account,
    ...(deps.callerNamespace && { callerNamespace: deps.callerNamespace }),
  };
  const publicUrl = deps.publicUrl ?? gatewayUrl;
  const router = Router();

  /** The function and alias a request names; the alias must exist. */
  const named = (req: Request) => {
    const raw = req.query.Qualifier;
    const qualifier = typeof raw === 'string' ? raw : undefined;
    if (qualifier !== undefined && !URL_QUALIFIER.test(qualifier)) {
      throw lambdaErrors.validation(
        qualifier,
        'qualifier',
        'Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)',
      );
    }
    const t = target(ctx, req);
    const arn = functionArn(account, t.key) + (qualifier ? `:${qualifier}` : '');
    if (qualifier !== undefined && !t.record.aliases.has(qualifier)) {
      throw apiErrors.notFound(`Function not found: ${arn}`);
    }
    return { t, qualifier, arn };
  };

  const shape = (req: Request, entry: UrlEntry, arn: string, modified: boolean) => ({
    FunctionUrl: publicUrl(entry.id, req),
    FunctionArn: arn,
    AuthType: entry.config.authType,
    ...(entry.config.cors && { Cors: corsShape(entry.config.cors) }),
    CreationTime: entry.creationTime,
    ...(modified && { LastModifiedTime: entry.lastModifiedTime }),
    InvokeMode: entry.config.invokeMode,
  });

  /** Writes a URL: into the definition for the function's own, into the store (and in a cluster the alias) for an alias's. */
  const write = async (
    t: ReturnType<typeof target>,
    qualifier: string | undefined,
    config: UrlConfig | undefined,
  ): Promise<UrlEntry | undefined> => {
    if (qualifier !== undefined) {
      // In a cluster the alias carries it in the resource, so every replica serves it.
      const alias = t.record.aliases.get(qualifier);
      if (deps.catalog.sharesAliases && alias) {
        const { functionUrl: _held, ...rest } = alias;
        await deps.catalog.putAlias(t.record, { ...rest, ...(config && { functionUrl: config }) });
      }
      if (config) return store.put(t.key, qualifier, config);
      store.remove(t.key, qualifier);
      return undefined;
    }
    const spec = { ...t.latest.spec };
    if (config) spec.functionUrl = config;
    else delete spec.functionUrl;
    const held = store.get(t.key, undefined);
    await deps.catalog.update(t.record, { ...t.latest, spec }, {});
    if (!config) return undefined;
    // In a cluster the definition comes back through the informer a moment later.
    const at = urlTimestamp(new Date());
    return (
      store.get(t.key, undefined) ?? {
        id: store.idOf(t.key, undefined),
        key: t.key,
        config,
        creationTime: held?.creationTime ?? at,
        lastModifiedTime: at,
      }
    );
  };

  const action =
    (name: string, handler: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      res.on('finish', () =>
        metrics.apiRequests.inc({ action: name, status: String(res.statusCode) }),
      );
      try {
        await handler(req, res);
      } catch (err) {
        sendLambdaError(res, asLambdaError(err));
      }
    };

  const URL = '/2021-10-31/functions/:name/url';

  router.post(
    URL,
    action('CreateFunctionUrlConfig', async (req, res) => {
      const config = parseUrlConfig(jsonBody(res));
      const { t, qualifier, arn } = named(req);
      if (store.get(t.key, qualifier)) {
        throw apiErrors.conflict(
          `Failed to create function url config for [functionArn = ${arn}]. Error message:  FunctionUrlConfig exists for this Lambda function`,
        );
      }
      const entry = (await write(t, qualifier, config))!;
      res.status(201).json(shape(req, entry, arn, false));
    }),
  );

  router.get(
    URL,
    action('GetFunctionUrlConfig', async (req, res) => {
      const { t, qualifier, arn } = named(req);
      const entry = store.get(t.key, qualifier);
      if (!entry) throw notFound();
      res.json(shape(req, entry, arn, true));
    }),
  );

  router.put(
    URL,
    action('UpdateFunctionUrlConfig', async (req, res) => {
      const body = jsonBody(res);
      const { t, qualifier, arn } = named(req);
      const held = store.get(t.key, qualifier);
      if (!held) throw notFound();
      const entry = (await write(t, qualifier, parseUrlConfig(body, held.config)))!;
      res.json(shape(req, entry, arn, true));
    }),
  );

  router.delete(
    URL,
    action('DeleteFunctionUrlConfig', async (req, res) => {
      const { t, qualifier } = named(req);
      if (!store.get(t.key, qualifier)) throw notFound();
      await write(t, qualifier, undefined);
      res.status(204).end();
    }),
  );

  router.get(
    '/2021-10-31/functions/:name/urls',
    action('ListFunctionUrlConfigs', async (req, res) => {
      const t = target(ctx, req);
      const max = req.query.MaxItems === undefined ? 50 : Number(req.query.MaxItems);
      if (!Number.isInteger(max) || max < 1 || max > 50) {
        throw lambdaErrors.validation(
          String(req.query.MaxItems),
          'maxItems',
          'Member must have value less than or equal to 50',
        );
      }
      const start = typeof req.query.Marker === 'string' ? Number(req.query.Marker) : 0;
      if (!Number.isInteger(start) || start < 0) {
        throw lambdaErrors.invalidParameter('Invalid marker');
      }
      const all = store.list(t.key);
      const base = functionArn(account, t.key);
      res.json({
        FunctionUrlConfigs: all
          .slice(start, start + max)
          .map((e) =>
            shape(req, e, base + (e.qualifier !== undefined ? `:${e.qualifier}` : ''), true),
          ),
        ...(start + max < all.length && { NextMarker: String(start + max) }),
      });
    }),
  );

  return router;
}
