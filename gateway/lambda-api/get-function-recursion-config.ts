// GetFunctionRecursionConfig: GET /2024-08-31/functions/{name}/recursion-config.
// PutFunctionRecursionConfig's setting, else the Function spec's recursiveLoop, else Terminate.
import type { Request, Response } from 'express';
import { target, type ApiContext } from './context.ts';

export function makeGetFunctionRecursionConfig(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const t = target(ctx, req);
    res.json({ RecursiveLoop: await ctx.recursion.effective(t.latest) });
  };
}
