// DeleteLayerVersion: DELETE /2018-10-31/layers/{LayerName}/versions/{VersionNumber}.
// 204 whether or not the version existed, as Lambda answers; functions using it keep
// running with their copy, and its number is never given again.
import type { Request, Response } from 'express';
import { layerScope, type ApiContext } from './context.ts';
import { layerNameOf } from './layer-fields.ts';

export function makeDeleteLayerVersion(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const scope = layerScope(ctx, req);
    const name = layerNameOf(String(req.params.name));
    const version = Number(req.params.version);
    if (Number.isSafeInteger(version)) await scope.layers.delete(name, version);
    res.status(204).end();
  };
}
