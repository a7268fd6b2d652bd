// UntagResource: DELETE /2017-03-31/tags/{ARN}?tagKeys=a&tagKeys=b.
import type { Request, Response } from 'express';
import { lambdaErrors } from '../errors.ts';
import type { ApiContext } from './context.ts';
import { taggedFunction } from './tag-target.ts';

export function makeUntagResource(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const record = taggedFunction(ctx, req);
    const raw = req.query.tagKeys;
    if (raw === undefined)
      throw lambdaErrors.validation('null', 'tagKeys', 'Member must not be null');
    const keys = (Array.isArray(raw) ? raw : [raw]).map(String);
    const tags = { ...record.tags };
    for (const k of keys) delete tags[k];
    await ctx.catalog.setTags(record, tags);
    res.status(204).end();
  };
}
