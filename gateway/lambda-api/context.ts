// What every action of the deployment API gets, and the lookups they share: the
// function a path names, and the version or alias a qualifier names.
import type { Request } from 'express';
import type { FunctionDefinition } from '../../lib/function.ts';
import { lambdaErrors } from '../errors.ts';
import { resolveKey } from '../invoke.ts';
import type { EventSources } from '../event-sources/service.ts';
import type { Account } from '../invoker.ts';
import type { LayerStore } from '../layers/store.ts';
import type { RecursionConfigs } from '../recursion.ts';
import { LATEST, type FunctionRegistry } from '../registry.ts';
import type { FunctionCatalog, FunctionMeta, FunctionRecord } from './catalog.ts';
import { apiErrors } from './errors.ts';

export interface ApiContext {
  registry: FunctionRegistry;
  catalog: FunctionCatalog;
  account: Account;
  /** Cluster mode: the namespace a bare function name of this request means. */
  callerNamespace?: (req: Request) => string;
  /** Event source mappings (absent when the gateway knows no table service). */
  eventSources?: EventSources;
  /** Put/GetFunctionRecursionConfig's settings. */
  recursion: RecursionConfigs;
  /** Published layer versions (of the one account `selfless dev` has). */
  layers: LayerStore;
  /** Cluster mode: the layer versions of the account a namespace is. */
  layersFor?: (namespace: string) => LayerStore;
}

/** The layers of the caller's account, and that account (its id names the ARNs). */
export interface LayerScope {
  layers: LayerStore;
  account: Account;
}

export function layerScope(ctx: ApiContext, req: Request): LayerScope {
  const ns = callerNamespace(ctx, req);
  return {
    layers: ctx.layersFor?.(ns) ?? ctx.layers,
    account: { ...ctx.account, accountId: ctx.account.accountIdFor?.(ns) ?? ctx.account.accountId },
  };
}

export interface Target {
  key: string;
  record: FunctionRecord;
  latest: FunctionDefinition;
  /** The unqualified ARN. */
  arn: string;
  qualifier: string | undefined;
}

/** What resolving a function needs (the Function URL API has no more). */
export type LookupContext = Omit<ApiContext, 'recursion' | 'layers' | 'layersFor'>;

export function callerNamespace(ctx: LookupContext, req: Request): string {
  return ctx.callerNamespace?.(req) ?? 'default';
}

/** The function named by the path's `:name` (a name, a partial or a full ARN). */
export function target(ctx: LookupContext, req: Request, qualifier?: string): Target {
  const ref = resolveKey(
    ctx.account,
    String(req.params.name),
    qualifier,
    callerNamespace(ctx, req),
  );
  const record = ref.key === undefined ? undefined : ctx.catalog.get(ref.key);
  const latest = ref.key === undefined ? undefined : ctx.catalog.latest(ref.key);
  if (!record || !latest) throw lambdaErrors.notFound(ref.arn);
  const arn = ref.qualifier === undefined ? ref.arn : ref.arn.slice(0, -(ref.qualifier.length + 1));
  return { key: ref.key!, record, latest, arn, qualifier: ref.qualifier };
}

/** The definition and fields of $LATEST, a version or (its main version) an alias. */
export function qualified(t: Target): { fn: FunctionDefinition; meta: FunctionMeta } {
  const q = t.qualifier;
  if (q === undefined || q === LATEST) return { fn: t.latest, meta: t.record.meta };
  const version = t.record.aliases.get(q)?.functionVersion ?? q;
  if (version === LATEST) return { fn: t.latest, meta: t.record.meta };
  const v = t.record.versions.get(version);
  if (!v) throw apiErrors.notFound(`Function not found: ${t.arn}:${q}`);
  return v;
}
