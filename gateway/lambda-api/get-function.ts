// GetFunction: GET /2015-03-31/functions/{name}?Qualifier=: the configuration of
// $LATEST, a version or an alias's version, where its code is, its tags and its
// reserved concurrency.
import type { Request, Response } from 'express';
import { functionConfiguration } from './configuration.ts';
import { qualified, target, type ApiContext } from './context.ts';
import { qualifierOf } from './request.ts';

export function makeGetFunction(ctx: ApiContext) {
  return (req: Request, res: Response): void => {
    const t = target(ctx, req, qualifierOf(req));
    const { fn, meta } = qualified(t);
    const reserved = t.latest.spec.reservedConcurrentExecutions;
    res.json({
      Configuration: functionConfiguration(ctx.account, fn, meta),
      Code: fn.spec.code.imageURI
        ? {
            RepositoryType: 'ECR',
            ImageUri: fn.spec.code.imageURI,
            ResolvedImageUri: fn.spec.code.imageURI,
          }
        : { RepositoryType: 'Selfless' },
      ...(Object.keys(t.record.tags).length > 0 && { Tags: t.record.tags }),
      ...(reserved !== undefined && { Concurrency: { ReservedConcurrentExecutions: reserved } }),
    });
  };
}
