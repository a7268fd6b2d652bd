// GetFunctionConfiguration: GET /2015-03-31/functions/{name}/configuration?Qualifier=.
// What the SDK's waiters (waitUntilFunctionActive, waitUntilFunctionUpdated) poll.
import type { Request, Response } from 'express';
import { functionConfiguration } from './configuration.ts';
import { qualified, target, type ApiContext } from './context.ts';
import { qualifierOf } from './request.ts';

export function makeGetFunctionConfiguration(ctx: ApiContext) {
  return (req: Request, res: Response): void => {
    const { fn, meta } = qualified(target(ctx, req, qualifierOf(req)));
    res.json(functionConfiguration(ctx.account, fn, meta));
  };
}
