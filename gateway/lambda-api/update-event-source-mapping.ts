// UpdateEventSourceMapping: PUT /2015-03-31/event-source-mappings/{UUID}: the given
// settings change (the function too); answers 202 with State Updating, which the
// next pass (at once) settles. The shard checkpoints stay: reading goes on from them.
import type { Request, Response } from 'express';
import type { ApiContext } from './context.ts';
import {
  COMMON_FIELDS,
  eventSources,
  functionField,
  mappingJson,
  mappingOf,
  refuseTrigger,
  settingsFields,
  windowLanes,
} from './event-source-fields.ts';
import { jsonBody, knownFields, stringField } from './request.ts';
import { LambdaError } from '../errors.ts';

export function makeUpdateEventSourceMapping(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const es = eventSources(ctx);
    const body = jsonBody(res);
    knownFields(body, COMMON_FIELDS);
    const m = await mappingOf(ctx, req);
    refuseTrigger(m);
    if (m.state !== 'Enabled' && m.state !== 'Disabled') {
      throw new LambdaError(
        400,
        'ResourceInUseException',
        `Cannot update the event source mapping because it is in use. State: ${m.state}`,
      );
    }
    const name = stringField(body, 'FunctionName', 'functionName', { min: 1, max: 140 });
    const fn = name === undefined ? undefined : functionField(ctx, req, name);
    const settings = settingsFields(body);
    const next = { ...m, ...settings, state: 'Updating' as const, lastModified: es.clock() };
    if ('onFailure' in settings && settings.onFailure === undefined) delete next.onFailure;
    windowLanes(next);
    if (fn) {
      next.functionKey = fn.functionKey;
      if (fn.qualifier === undefined) delete next.qualifier;
      else next.qualifier = fn.qualifier;
    }
    await es.store.put(next);
    res.status(202).json(await mappingJson(ctx, next));
    void es.refresh();
  };
}
