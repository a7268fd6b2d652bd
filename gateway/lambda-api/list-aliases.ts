// ListAliases: GET /2015-03-31/functions/{name}/aliases?FunctionVersion=: by name,
// optionally only those whose main version is the one given.
import type { Request, Response } from 'express';
import { aliasJson } from './alias-fields.ts';
import { target, type ApiContext } from './context.ts';
import { page } from './paging.ts';

export function makeListAliases(ctx: ApiContext) {
  return (req: Request, res: Response): void => {
    const t = target(ctx, req);
    const version =
      typeof req.query.FunctionVersion === 'string' ? req.query.FunctionVersion : undefined;
    const all = [...t.record.aliases.values()]
      .filter((a) => version === undefined || a.functionVersion === version)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((a) => aliasJson(t, a));
    const p = page(req, all);
    res.json({ Aliases: p.items, ...(p.next && { NextMarker: p.next }) });
  };
}
