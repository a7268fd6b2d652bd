// DeleteFunction: DELETE /2015-03-31/functions/{name}?Qualifier=. Without a
// qualifier the function goes with all its versions and aliases; with a version
// number only that version, unless an alias still points at it.
import type { Request, Response } from 'express';
import { lambdaErrors } from '../errors.ts';
import { LATEST } from '../registry.ts';
import { target, type ApiContext } from './context.ts';
import { apiErrors } from './errors.ts';
import { qualifierOf } from './request.ts';

export function makeDeleteFunction(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const t = target(ctx, req, qualifierOf(req));
    const q = t.qualifier;
    if (q === undefined) {
      await ctx.catalog.remove(t.latest);
      res.status(204).end();
      return;
    }
    if (q === LATEST) {
      throw lambdaErrors.invalidParameter(
        '$LATEST version cannot be deleted without deleting all versions of the function.',
      );
    }
    if (!/^\d+$/.test(q)) {
      throw lambdaErrors.invalidParameter('Deletion of aliases is not supported. Use DeleteAlias.');
    }
    if (!t.record.versions.has(q)) throw apiErrors.notFound(`Function not found: ${t.arn}:${q}`);
    const users = [...t.record.aliases.values()]
      .filter((a) => a.functionVersion === q || a.additionalVersionWeights?.[q] !== undefined)
      .map((a) => a.name);
    if (users.length > 0) {
      throw apiErrors.conflict(
        `Unable to delete version because the following aliases reference it: [${users.join(', ')}]`,
      );
    }
    await ctx.catalog.removeVersion(t.record, q);
    res.status(204).end();
  };
}
