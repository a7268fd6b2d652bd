// Put/Get/Delete/ListProvisionedConcurrencyConfigs:
// /2019-09-30/functions/{name}/provisioned-concurrency?Qualifier= (List=ALL lists).
// The configs are the function's spec.provisionedConcurrencyConfigs, written through
// the catalog; the pool keeps that many environments of the version warm. Status is
// what this gateway sees: READY once its initialised environments of the version
// hold the requested events. In a cluster a replica counts the workers connected to
// it, so another replica may report IN_PROGRESS a while longer.
import type { Request, Response } from 'express';
import { keyOf, maxConcurrency, type FunctionDefinition } from '../../lib/function.ts';
import type { ProvisionedConcurrencyConfig } from '../../lib/provisioned-concurrency.ts';
import { LambdaError, lambdaErrors } from '../errors.ts';
import type { AccountQuotas } from '../limiter.ts';
import { LATEST, workerKeyOf } from '../registry.ts';
import { lambdaTimestamp } from './catalog.ts';
import { target, type ApiContext, type Target } from './context.ts';
import { apiErrors } from './errors.ts';
import { page } from './paging.ts';
import { intField, jsonBody, knownFields, qualifierOf } from './request.ts';
import { checkUpdatable } from './update-function-code.ts';

/** What the provisioned concurrency actions need beyond the deployment API's context. */
export interface ProvisionedContext {
  quotas: AccountQuotas;
  /** Initialised environments (idle or busy) of a worker key this gateway knows of. */
  environmentsUp(workerKey: string): number;
}

const notFound = () =>
  new LambdaError(
    404,
    'ProvisionedConcurrencyConfigNotFoundException',
    'No Provisioned Concurrency Config found for this function',
  );

/** When each config last changed; kept by this process (a restart reports the function's). */
const modified = new WeakMap<object, Map<string, string>>();

const isVersion = (qualifier: string) => /^\d+$/.test(qualifier);

function configsOf(fn: FunctionDefinition): ProvisionedConcurrencyConfig[] {
  return fn.spec.provisionedConcurrencyConfigs ?? [];
}

/** The versions an alias or version qualifier runs, with the share of calls each takes. */
function versionsOf(t: Target, qualifier: string): Map<string, number> {
  if (isVersion(qualifier)) return new Map([[qualifier, 1]]);
  const alias = t.record.aliases.get(qualifier)!;
  const weights = alias.additionalVersionWeights ?? {};
  const others = Object.values(weights).reduce((s, w) => s + w, 0);
  return new Map([[alias.functionVersion, 1 - others], ...Object.entries(weights)]);
}

/** The qualifier must name a published version or an alias of the function. */
function checkQualifier(t: Target, qualifier: string | undefined): string {
  if (qualifier === undefined || qualifier === '')
    throw lambdaErrors.validation('null', 'qualifier', 'Member must not be null');
  if (qualifier === LATEST) {
    throw lambdaErrors.invalidParameter(
      'Provisioned Concurrency Configs cannot be applied to unpublished function versions.',
    );
  }
  const known = isVersion(qualifier)
    ? t.record.versions.has(qualifier)
    : t.record.aliases.has(qualifier);
  if (!known) throw apiErrors.notFound(`Function not found: ${t.arn}:${qualifier}`);
  return qualifier;
}

function configJson(
  p: ProvisionedContext,
  t: Target,
  config: ProvisionedConcurrencyConfig,
): Record<string, unknown> {
  let events = 0;
  for (const [version, share] of versionsOf(t, config.qualifier)) {
    const v = t.record.versions.get(version);
    if (!v || share <= 0) continue;
    events += p.environmentsUp(workerKeyOf(v.fn)) * maxConcurrency(v.fn);
  }
  const requested = config.provisionedConcurrentExecutions;
  const available = Math.min(requested, events);
  return {
    RequestedProvisionedConcurrentExecutions: requested,
    AvailableProvisionedConcurrentExecutions: available,
    AllocatedProvisionedConcurrentExecutions: available,
    Status: available >= requested ? 'READY' : 'IN_PROGRESS',
    LastModified: modified.get(t.record)?.get(config.qualifier) ?? t.record.meta.lastModified,
  };
}

/**
 * Lambda's limits: a function's provisioned concurrency fits in its reservation, and
 * without one it leaves the account's unreserved floor free.
 */
function checkQuota(
  ctx: ApiContext,
  p: ProvisionedContext,
  t: Target,
  configs: ProvisionedConcurrencyConfig[],
): void {
  const total = (fn: FunctionDefinition, own: ProvisionedConcurrencyConfig[]) =>
    fn.spec.reservedConcurrentExecutions === undefined
      ? own.reduce((s, c) => s + c.provisionedConcurrentExecutions, 0)
      : 0;
  const reserved = t.latest.spec.reservedConcurrentExecutions;
  const mine = configs.reduce((s, c) => s + c.provisionedConcurrentExecutions, 0);
  if (reserved !== undefined) {
    if (mine > reserved) {
      throw lambdaErrors.invalidParameter(
        'Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function',
      );
    }
    return;
  }
  let unreservedProvisioned = mine;
  for (const fn of ctx.registry.list()) {
    if (keyOf(fn) !== t.key) unreservedProvisioned += total(fn, configsOf(fn));
  }
  const unreserved = p.quotas.accountLimit - ctx.registry.reservedTotal();
  if (unreserved - unreservedProvisioned < p.quotas.unreservedFloor) {
    throw lambdaErrors.invalidParameter(
      `Specified ProvisionedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${p.quotas.unreservedFloor}].`,
    );
  }
}

export function makePutProvisionedConcurrencyConfig(ctx: ApiContext, p: ProvisionedContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = jsonBody(res);
    knownFields(body, ['ProvisionedConcurrentExecutions']);
    const t = target(ctx, req);
    const qualifier = checkQualifier(t, qualifierOf(req));
    const n = intField(body, 'ProvisionedConcurrentExecutions', 'provisionedConcurrentExecutions', {
      min: 1,
      max: 100_000,
    });
    if (n === undefined) {
      throw lambdaErrors.validation(
        'null',
        'provisionedConcurrentExecutions',
        'Member must not be null',
      );
    }
    checkUpdatable(t);
    const others = configsOf(t.latest).filter((c) => c.qualifier !== qualifier);
    if (versionsOf(t, qualifier).has(LATEST)) {
      throw lambdaErrors.invalidParameter(
        'Provisioned Concurrency Configs cannot be applied to unpublished function versions.',
      );
    }
    // An alias and a version it routes to cannot both hold provisioned concurrency.
    for (const other of others) {
      if (isVersion(qualifier) === isVersion(other.qualifier)) continue;
      const [alias, version] = isVersion(qualifier)
        ? [other.qualifier, qualifier]
        : [qualifier, other.qualifier];
      if (versionsOf(t, alias).has(version)) {
        throw apiErrors.conflict(
          `Alias ${alias} and version ${version} it routes to cannot both have a Provisioned Concurrency Config.`,
        );
      }
    }
    const config: ProvisionedConcurrencyConfig = { qualifier, provisionedConcurrentExecutions: n };
    const configs = [...others, config].sort((a, b) => a.qualifier.localeCompare(b.qualifier));
    checkQuota(ctx, p, t, configs);
    await ctx.catalog.setProvisionedConfigs(t.record, configs);
    const times = modified.get(t.record) ?? new Map<string, string>();
    times.set(qualifier, lambdaTimestamp(new Date()));
    modified.set(t.record, times);
    res.status(202).json(configJson(p, t, config));
  };
}

export function makeGetProvisionedConcurrencyConfig(ctx: ApiContext, p: ProvisionedContext) {
  return (req: Request, res: Response): void => {
    const t = target(ctx, req);
    const qualifier = checkQualifier(t, qualifierOf(req));
    const config = configsOf(t.latest).find((c) => c.qualifier === qualifier);
    if (!config) throw notFound();
    res.json(configJson(p, t, config));
  };
}

export function makeDeleteProvisionedConcurrencyConfig(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const t = target(ctx, req);
    const qualifier = checkQualifier(t, qualifierOf(req));
    const configs = configsOf(t.latest);
    if (!configs.some((c) => c.qualifier === qualifier)) throw notFound();
    checkUpdatable(t);
    await ctx.catalog.setProvisionedConfigs(
      t.record,
      configs.filter((c) => c.qualifier !== qualifier),
    );
    modified.get(t.record)?.delete(qualifier);
    res.status(204).end();
  };
}

export function makeListProvisionedConcurrencyConfigs(ctx: ApiContext, p: ProvisionedContext) {
  return (req: Request, res: Response): void => {
    const t = target(ctx, req);
    const all = configsOf(t.latest).map((c) => ({
      FunctionArn: `${t.arn}:${c.qualifier}`,
      ...configJson(p, t, c),
    }));
    const got = page(req, all);
    res.json({
      ProvisionedConcurrencyConfigs: got.items,
      ...(got.next && { NextMarker: got.next }),
    });
  };
}
