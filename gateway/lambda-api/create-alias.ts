// CreateAlias: POST /2015-03-31/functions/{name}/aliases: a name for a version, or
// for two with RoutingConfig.AdditionalVersionWeights (Invoke draws between them).
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { lambdaErrors } from '../errors.ts';
import type { AliasRecord } from './catalog.ts';
import { target, type ApiContext } from './context.ts';
import { aliasJson, aliasName, routingField, versionField } from './alias-fields.ts';
import { apiErrors } from './errors.ts';
import { jsonBody, knownFields, stringField } from './request.ts';

export function makeCreateAlias(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = jsonBody(res);
    knownFields(body, ['Name', 'FunctionVersion', 'Description', 'RoutingConfig']);
    const t = target(ctx, req);
    const name = aliasName(body.Name);
    const version = versionField(t, body);
    if (version === undefined)
      throw lambdaErrors.validation('null', 'functionVersion', 'Member must not be null');
    const weights = routingField(t, body, version);
    const description = stringField(body, 'Description', 'description', { max: 256 }) ?? '';
    if (t.record.aliases.has(name))
      throw apiErrors.conflict(`Alias already exists: ${t.arn}:${name}`);
    const alias: AliasRecord = {
      name,
      functionVersion: version,
      description,
      ...(weights && { additionalVersionWeights: weights }),
      revisionId: randomUUID(),
    };
    await ctx.catalog.putAlias(t.record, alias);
    res.status(201).json(aliasJson(t, alias));
  };
}
