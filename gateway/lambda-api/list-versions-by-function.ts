// ListVersionsByFunction: GET /2015-03-31/functions/{name}/versions: $LATEST, then
// the published versions in order.
import type { Request, Response } from 'express';
import { functionConfiguration } from './configuration.ts';
import { target, type ApiContext } from './context.ts';
import { page } from './paging.ts';

export function makeListVersionsByFunction(ctx: ApiContext) {
  return (req: Request, res: Response): void => {
    const t = target(ctx, req);
    const all = [
      functionConfiguration(ctx.account, t.latest, t.record.meta),
      ...[...t.record.versions.values()]
        .sort((a, b) => Number(a.fn.version) - Number(b.fn.version))
        .map((v) => functionConfiguration(ctx.account, v.fn, v.meta)),
    ];
    const p = page(req, all);
    res.json({ Versions: p.items, ...(p.next && { NextMarker: p.next }) });
  };
}
