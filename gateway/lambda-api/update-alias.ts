// UpdateAlias: PUT /2015-03-31/functions/{name}/aliases/{alias}: the members given
// replace the alias's; an empty RoutingConfig ends weighted routing.
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import type { AliasRecord } from './catalog.ts';
import type { ApiContext } from './context.ts';
import { aliasJson, aliasTarget, routingField, versionField } from './alias-fields.ts';
import { checkRevision, jsonBody, knownFields, stringField } from './request.ts';

export function makeUpdateAlias(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = jsonBody(res);
    knownFields(body, ['FunctionVersion', 'Description', 'RoutingConfig', 'RevisionId']);
    const { t, alias } = aliasTarget(ctx, req);
    const version = versionField(t, body) ?? alias.functionVersion;
    const weights = routingField(t, body, version);
    const description = stringField(body, 'Description', 'description', { max: 256 });
    checkRevision(stringField(body, 'RevisionId', 'revisionId'), alias.revisionId);
    const kept = weights === undefined ? alias.additionalVersionWeights : (weights ?? undefined);
    if (kept && weights === undefined) {
      // The routing stays: the new main version must still make sense beside it.
      routingField(t, { RoutingConfig: { AdditionalVersionWeights: kept } }, version);
    }
    const next: AliasRecord = {
      name: alias.name,
      functionVersion: version,
      description: description ?? alias.description,
      ...(kept && { additionalVersionWeights: kept }),
      revisionId: randomUUID(),
    };
    await ctx.catalog.putAlias(t.record, next);
    res.json(aliasJson(t, next));
  };
}
