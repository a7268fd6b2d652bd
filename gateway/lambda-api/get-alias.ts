// GetAlias: GET /2015-03-31/functions/{name}/aliases/{alias}.
import type { Request, Response } from 'express';
import { aliasJson, aliasTarget } from './alias-fields.ts';
import type { ApiContext } from './context.ts';

export function makeGetAlias(ctx: ApiContext) {
  return (req: Request, res: Response): void => {
    const { t, alias } = aliasTarget(ctx, req);
    res.json(aliasJson(t, alias));
  };
}
