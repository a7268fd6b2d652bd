// ListTags: GET /2017-03-31/tags/{ARN}.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.ts';
import { taggedFunction } from './tag-target.ts';

export function makeListTags(ctx: ApiContext) {
  return (req: Request, res: Response): void => {
    res.json({ Tags: taggedFunction(ctx, req).tags });
  };
}
