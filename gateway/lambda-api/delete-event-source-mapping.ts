// DeleteEventSourceMapping: DELETE /2015-03-31/event-source-mappings/{UUID}: answers
// 202 with State Deleting; the next pass (at once) stops its pollers and removes it
// with its checkpoints.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.ts';
import { eventSources, mappingJson, mappingOf, refuseTrigger } from './event-source-fields.ts';

export function makeDeleteEventSourceMapping(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const es = eventSources(ctx);
    const m = await mappingOf(ctx, req);
    refuseTrigger(m);
    const next = { ...m, state: 'Deleting' as const };
    await es.store.put(next);
    res.status(202).json(await mappingJson(ctx, next));
    void es.refresh();
  };
}
