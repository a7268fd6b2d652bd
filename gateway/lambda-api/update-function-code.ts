// UpdateFunctionCode: PUT /2015-03-31/functions/{name}/code. New code for $LATEST
// (a zip for a Zip function, an image for an Image one); LastUpdateStatus goes
// InProgress -> Successful (waitUntilFunctionUpdatedV2). Publish: true publishes
// the result as a version; DryRun checks without changing anything.
import type { Request, Response } from 'express';
import type { FunctionCode, FunctionDefinition } from '../../lib/function.ts';
import { lambdaErrors } from '../errors.ts';
import { functionConfiguration } from './configuration.ts';
import { layerScope, target, type ApiContext, type Target } from './context.ts';
import { architecturesOf } from './create-function.ts';
import { apiErrors } from './errors.ts';
import { checkedSpec, imageCode, s3Refused, zipCode } from './fields.ts';
import { checkCodeWithLayers } from './layer-fields.ts';
import { boolField, checkRevision, jsonBody, knownFields, stringField } from './request.ts';

export const UPDATE_CODE_FIELDS = [
  'ZipFile',
  'S3Bucket',
  'S3Key',
  'S3ObjectVersion',
  'S3ObjectStorageMode',
  'ImageUri',
  'Architectures',
  'Publish',
  'PublishTo',
  'DryRun',
  'RevisionId',
  'SourceKMSKeyArn',
] as const;

/** Lambda takes one change at a time: a function still settling the last one is refused. */
export function checkUpdatable(t: Target): void {
  if (t.record.meta.state === 'Pending') {
    throw apiErrors.conflict(
      'The operation cannot be performed at this time. The function is currently in the following state: Pending',
    );
  }
  if (t.record.meta.lastUpdateStatus === 'InProgress') throw apiErrors.updateInProgress(t.arn);
}

export function makeUpdateFunctionCode(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = jsonBody(res);
    knownFields(body, UPDATE_CODE_FIELDS);
    const t = target(ctx, req);
    if (body.S3Bucket !== undefined || body.S3Key !== undefined) s3Refused();
    const image = t.latest.spec.code.imageURI !== undefined;
    let code: FunctionCode;
    if (image) {
      if (body.ImageUri === undefined)
        throw lambdaErrors.invalidParameter(
          'Please provide ImageUri when updating a function with packageType Image.',
        );
      code = imageCode(body.ImageUri);
    } else {
      if (body.ImageUri !== undefined)
        throw lambdaErrors.invalidParameter(
          "Please don't provide ImageUri when updating a function with packageType Zip.",
        );
      if (body.ZipFile === undefined)
        throw lambdaErrors.invalidParameter('Please provide a source for function code.');
      code = zipCode(body.ZipFile, 'zipFile');
    }
    const architectures = architecturesOf(body);
    const revision = stringField(body, 'RevisionId', 'revisionId');
    const publish = boolField(body, 'Publish') ?? false;
    const dryRun = boolField(body, 'DryRun') ?? false;
    checkRevision(revision, t.record.meta.revisionId);
    checkUpdatable(t);
    checkCodeWithLayers(layerScope(ctx, req), code, t.latest.spec.layers);
    const fn: FunctionDefinition = { ...t.latest, spec: checkedSpec({ ...t.latest.spec, code }) };
    if (dryRun) {
      res.json(functionConfiguration(ctx.account, fn, t.record.meta));
      return;
    }
    await ctx.catalog.update(t.record, fn, architectures ? { architectures } : {});
    if (publish) {
      const v = await ctx.catalog.publish(t.record, undefined);
      res.json(functionConfiguration(ctx.account, v.fn, v.meta));
      return;
    }
    res.json(functionConfiguration(ctx.account, fn, t.record.meta));
  };
}
