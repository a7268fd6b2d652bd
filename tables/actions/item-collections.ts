// ReturnItemCollectionMetrics: SIZE. DynamoDB answers it only for tables with
// local secondary indexes, whose item collections (the items and index rows of
// one hash key) are limited to 10 GB; the estimate is the GB range the
// collection's size falls in, as the engine keeps it.
import type { TableMeta } from '../storage/engine.ts';
import { localIndexes } from '../storage/indexes.ts';
import { keyBytes, type Item } from '../values.ts';
import type { ActionContext, Request } from './context.ts';

export async function itemCollectionMetrics(
  ctx: ActionContext,
  req: Request,
  meta: TableMeta,
  key: Item,
): Promise<Record<string, unknown> | undefined> {
  if (req.ReturnItemCollectionMetrics !== 'SIZE' || localIndexes(meta).length === 0) return;
  const { hash } = meta.schema;
  const value = key[hash.name]!;
  const bytes = await ctx.engine.collectionSize(meta, keyBytes(hash.type, value));
  const gb = Math.floor(bytes / 2 ** 30);
  return { ItemCollectionKey: { [hash.name]: value }, SizeEstimateRangeGB: [gb, gb + 1] };
}
