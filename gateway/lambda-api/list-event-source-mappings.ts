// ListEventSourceMappings: GET /2015-03-31/event-source-mappings/?FunctionName=&EventSourceArn=
// &Marker=&MaxItems=: the caller's mappings, those the API created and those of
// dynamodbStream triggers alike, oldest first.
import type { Request, Response } from 'express';
import { resolveKey } from '../invoke.ts';
import { callerNamespace, type ApiContext } from './context.ts';
import { eventSources, mappingJson, visible } from './event-source-fields.ts';
import { page } from './paging.ts';

export function makeListEventSourceMappings(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const name = typeof req.query.FunctionName === 'string' ? req.query.FunctionName : undefined;
    const arn = typeof req.query.EventSourceArn === 'string' ? req.query.EventSourceArn : undefined;
    const ref =
      name === undefined
        ? undefined
        : resolveKey(ctx.account, name, undefined, callerNamespace(ctx, req));
    const all = (await eventSources(ctx).list())
      .filter((m) => visible(ctx, req, m))
      .filter((m) => arn === undefined || m.eventSourceArn === arn)
      .filter(
        (m) =>
          ref === undefined ||
          (m.functionKey === ref.key &&
            (ref.qualifier === undefined || (m.qualifier ?? '$LATEST') === ref.qualifier)),
      )
      .sort((a, b) => a.lastModified - b.lastModified || a.uuid.localeCompare(b.uuid));
    const p = page(req, all, 100);
    res.json({
      EventSourceMappings: await Promise.all(p.items.map((m) => mappingJson(ctx, m))),
      ...(p.next && { NextMarker: p.next }),
    });
  };
}
