// What CreateAlias and UpdateAlias share: the alias as Lambda reports it, and the
// checks of FunctionVersion and RoutingConfig.AdditionalVersionWeights (one extra
// version with a weight in [0, 1], never $LATEST, never the main version).
import type { Request } from 'express';
import { lambdaErrors } from '../errors.ts';
import { LATEST } from '../registry.ts';
import type { AliasRecord } from './catalog.ts';
import { target, type ApiContext, type Target } from './context.ts';
import { apiErrors } from './errors.ts';
import { objectField, stringField, type Body } from './request.ts';

export function aliasJson(t: Target, a: AliasRecord): Record<string, unknown> {
  return {
    AliasArn: `${t.arn}:${a.name}`,
    Name: a.name,
    FunctionVersion: a.functionVersion,
    Description: a.description,
    ...(a.additionalVersionWeights && {
      RoutingConfig: { AdditionalVersionWeights: a.additionalVersionWeights },
    }),
    RevisionId: a.revisionId,
  };
}

export function aliasName(raw: unknown, member = 'name'): string {
  const name = String(raw ?? '');
  if (
    name.length < 1 ||
    name.length > 128 ||
    /^\d+$/.test(name) ||
    !/^[a-zA-Z0-9-_]+$/.test(name)
  ) {
    throw lambdaErrors.validation(
      name,
      member,
      'Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)',
    );
  }
  return name;
}

/** The function and alias of the path /functions/{name}/aliases/{alias}; 404 if no alias. */
export function aliasTarget(ctx: ApiContext, req: Request): { t: Target; alias: AliasRecord } {
  const t = target(ctx, req);
  const name = aliasName(req.params.alias);
  const alias = t.record.aliases.get(name);
  if (!alias) throw apiErrors.notFound(`Alias not found: ${t.arn}:${name}`);
  return { t, alias };
}

export function versionField(t: Target, body: Body): string | undefined {
  const v = stringField(body, 'FunctionVersion', 'functionVersion', {
    min: 1,
    max: 1024,
    pattern: /^(\$LATEST|[0-9]+)$/,
    patternText: '(\\$LATEST|[0-9]+)',
  });
  if (v !== undefined && v !== LATEST && !t.record.versions.has(v)) {
    throw apiErrors.notFound(`Function not found: ${t.arn}:${v}`);
  }
  return v;
}

/** undefined: not given; null: given empty (no routing). */
export function routingField(
  t: Target,
  body: Body,
  functionVersion: string,
): Record<string, number> | null | undefined {
  const routing = objectField(body, 'RoutingConfig', ['AdditionalVersionWeights']);
  if (!routing) return undefined;
  const raw = routing.AdditionalVersionWeights;
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw lambdaErrors.invalidJson(
      'RoutingConfig.AdditionalVersionWeights must map versions to weights',
    );
  const weights = raw as Record<string, unknown>;
  const entries = Object.entries(weights);
  if (entries.length === 0) return null;
  for (const [v, w] of entries) {
    if (typeof w !== 'number' || w < 0 || w > 1) {
      throw lambdaErrors.validation(
        JSON.stringify(weights),
        'routingConfig.additionalVersionWeights',
        'Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]',
      );
    }
    if (!/^[0-9]+$/.test(v)) {
      throw lambdaErrors.validation(
        JSON.stringify(weights),
        'routingConfig.additionalVersionWeights',
        'Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]',
      );
    }
  }
  if (entries.length > 1) {
    throw lambdaErrors.invalidParameter(
      'Number of items in AdditionalVersionWeights cannot be greater than 1',
    );
  }
  if (functionVersion === LATEST) {
    throw lambdaErrors.invalidParameter(
      '$LATEST is not supported for an alias pointing to more than 1 version',
    );
  }
  const [extra] = entries[0]!;
  if (extra === functionVersion) {
    throw lambdaErrors.invalidParameter(
      `Invalid function version ${extra}. Function version ${extra} is already included in routing configuration.`,
    );
  }
  if (!t.record.versions.has(extra))
    throw apiErrors.notFound(`Function not found: ${t.arn}:${extra}`);
  return weights as Record<string, number>;
}
