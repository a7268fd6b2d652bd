// ListLayerVersions: GET /2018-10-31/layers/{LayerName}/versions, newest first,
// filtered by CompatibleRuntime and CompatibleArchitecture, Marker/MaxItems paged.
import type { Request, Response } from 'express';
import type { LayerVersion } from '../layers/store.ts';
import { layerScope, type ApiContext } from './context.ts';
import { layerNameOf, listItem } from './layer-fields.ts';
import { page } from './paging.ts';

/** A version matches a filter it declares, or one it does not declare at all (Lambda's rule). */
export function matches(req: Request, v: LayerVersion): boolean {
  const runtime = req.query.CompatibleRuntime;
  const arch = req.query.CompatibleArchitecture;
  if (typeof runtime === 'string' && !v.compatibleRuntimes?.includes(runtime)) return false;
  if (typeof arch === 'string' && !v.compatibleArchitectures?.includes(arch)) return false;
  return true;
}

export function makeListLayerVersions(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const scope = layerScope(ctx, req);
    const name = layerNameOf(String(req.params.name));
    const all = scope.layers.versions(name).filter((v) => matches(req, v));
    const p = page(req, all);
    res.json({
      LayerVersions: p.items.map((v) => listItem(scope.account, v)),
      ...(p.next && { NextMarker: p.next }),
    });
  };
}
