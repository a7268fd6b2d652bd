// GetEventSourceMapping: GET /2015-03-31/event-source-mappings/{UUID}.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.ts';
import { mappingJson, mappingOf } from './event-source-fields.ts';

export function makeGetEventSourceMapping(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    res.json(await mappingJson(ctx, await mappingOf(ctx, req)));
  };
}
