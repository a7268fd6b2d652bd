// GetLayerVersion: GET /2018-10-31/layers/{LayerName}/versions/{VersionNumber}, and
// GetLayerVersionByArn: GET /2018-10-31/layers?find=LayerVersion&Arn=... (the same
// answer, the version named by its ARN).
import type { Request, Response } from 'express';
import { lambdaErrors } from '../errors.ts';
import { layerScope, type ApiContext } from './context.ts';
import { parseLayerVersionArn } from '../../lib/layer-version.ts';
import { layerArn, layerVersionOutput, pathVersion, versionNotFound } from './layer-fields.ts';

export function makeGetLayerVersion(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const scope = layerScope(ctx, req);
    res.json(layerVersionOutput(req, scope.account, pathVersion(scope.layers, scope.account, req)));
  };
}

export function makeGetLayerVersionByArn(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const scope = layerScope(ctx, req);
    const arn = String(req.query.Arn ?? '');
    const ref = parseLayerVersionArn(arn);
    if (!ref) {
      throw lambdaErrors.validation(
        arn,
        'arn',
        'Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+',
      );
    }
    const v = arn.startsWith(`${layerArn(scope.account, ref.name)}:`)
      ? scope.layers.get(ref.name, ref.version)
      : undefined;
    if (!v) throw versionNotFound(scope.account, ref.name, ref.version);
    res.json(layerVersionOutput(req, scope.account, v));
  };
}

/** The zip itself, where GetLayerVersion's Content.Location points. */
export function makeGetLayerVersionContent(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const scope = layerScope(ctx, req);
    const v = pathVersion(scope.layers, scope.account, req);
    res.type('application/zip').send(await scope.layers.download(v.name, v.version));
  };
}
