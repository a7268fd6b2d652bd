// DeleteAlias: DELETE /2015-03-31/functions/{name}/aliases/{alias}.
import type { Request, Response } from 'express';
import { aliasTarget } from './alias-fields.ts';
import type { ApiContext } from './context.ts';

export function makeDeleteAlias(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const { t, alias } = aliasTarget(ctx, req);
    await ctx.catalog.removeAlias(t.record, alias.name);
    res.status(204).end();
  };
}
