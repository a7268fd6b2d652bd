// UpdateFunctionConfiguration: PUT /2015-03-31/functions/{name}/configuration. The
// members given replace those of $LATEST; the others stay. LastUpdateStatus goes
// InProgress -> Successful as for a code update.
import type { Request, Response } from 'express';
import type { FunctionDefinition } from '../../lib/function.ts';
import { lambdaErrors } from '../errors.ts';
import { functionConfiguration } from './configuration.ts';
import { layerScope, target, type ApiContext } from './context.ts';
import { CONFIG_FIELDS, checkedSpec, configChange } from './fields.ts';
import { withLayers } from './layer-fields.ts';
import { checkRevision, jsonBody, knownFields, stringField } from './request.ts';
import { checkUpdatable } from './update-function-code.ts';

export const UPDATE_CONFIGURATION_FIELDS = [...CONFIG_FIELDS, 'RevisionId'] as const;

export function makeUpdateFunctionConfiguration(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = jsonBody(res);
    knownFields(body, UPDATE_CONFIGURATION_FIELDS);
    const t = target(ctx, req);
    const change = withLayers(
      layerScope(ctx, req),
      configChange(body, t.record.meta, t.latest.spec.loggingConfig),
      t.record.meta,
      t.latest.spec.code,
    );
    const revision = stringField(body, 'RevisionId', 'revisionId');
    if (
      t.latest.spec.code.imageURI !== undefined &&
      (change.spec.runtime !== undefined || change.spec.handler !== undefined)
    ) {
      throw lambdaErrors.invalidParameter(
        "Please don't provide Runtime or Handler when updating a function with packageType Image.",
      );
    }
    checkRevision(revision, t.record.meta.revisionId);
    checkUpdatable(t);
    const fn: FunctionDefinition = {
      ...t.latest,
      spec: checkedSpec({ ...t.latest.spec, ...change.spec }),
    };
    await ctx.catalog.update(t.record, fn, change.meta);
    res.json(functionConfiguration(ctx.account, fn, t.record.meta));
  };
}
