// ListLayers: GET /2018-10-31/layers, each layer with its newest version matching
// the CompatibleRuntime / CompatibleArchitecture filters, Marker/MaxItems paged.
import type { Request, Response } from 'express';
import { layerScope, type ApiContext } from './context.ts';
import { layerArn, listItem } from './layer-fields.ts';
import { matches } from './list-layer-versions.ts';
import { page } from './paging.ts';

export function makeListLayers(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const scope = layerScope(ctx, req);
    const all = scope.layers.names().flatMap((name) => {
      const latest = scope.layers.versions(name).find((v) => matches(req, v));
      return latest
        ? [
            {
              LayerName: name,
              LayerArn: layerArn(scope.account, name),
              LatestMatchingVersion: listItem(scope.account, latest),
            },
          ]
        : [];
    });
    const p = page(req, all);
    res.json({ Layers: p.items, ...(p.next && { NextMarker: p.next }) });
  };
}
