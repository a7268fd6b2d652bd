// PutFunctionRecursionConfig: PUT /2024-08-31/functions/{name}/recursion-config.
// Allow or Terminate (the default) for chains past 16 invocations (../recursion.ts);
// kept beside the event invoke configuration, in the event store.
import type { Request, Response } from 'express';
import { lambdaErrors } from '../errors.ts';
import { RECURSIVE_LOOPS, type RecursiveLoop } from '../../lib/function.ts';
import { target, type ApiContext } from './context.ts';
import { jsonBody, knownFields } from './request.ts';

export function makePutFunctionRecursionConfig(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = jsonBody(res);
    knownFields(body, ['RecursiveLoop']);
    const value = body.RecursiveLoop;
    if (value === undefined || value === null) {
      throw lambdaErrors.validation('null', 'recursiveLoop', 'Member must not be null');
    }
    if (!RECURSIVE_LOOPS.includes(value as RecursiveLoop)) {
      throw lambdaErrors.validation(
        String(value),
        'recursiveLoop',
        `Member must satisfy enum value set: [${RECURSIVE_LOOPS.join(', ')}]`,
      );
    }
    const t = target(ctx, req);
    await ctx.recursion.put(t.key, value as RecursiveLoop);
    res.json({ RecursiveLoop: value });
  };
}
