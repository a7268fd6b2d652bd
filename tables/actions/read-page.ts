// The paging rules Query and Scan share: Limit counts items read before the
// filter, a page stops once 1 MB has been read, LastEvaluatedKey is the key of
// the last item read when the page stopped early, and capacity is charged on all
// bytes read (filtered out or not).
import { validation } from '../errors.ts';
import type { Condition, PathNode } from '../expressions/ast.ts';
import { evaluate, project } from '../expressions/evaluate.ts';
import { itemSize, keyOf, type Item, type KeySchema } from '../values.ts';

export const maxPageBytes = 1024 * 1024;
const batchSize = 256;

export interface Page {
  items: Item[];
  count: number;
  scannedCount: number;
  lastKey?: Item;
  bytes: number;
}

export async function readPage(opts: {
  schema: KeySchema;
  /** Up to `limit` items strictly after `after` (or from the start). */
  fetch: (after: Item | undefined, limit: number) => Promise<Item[]>;
  limit?: number;
  filter?: Condition;
  projection?: PathNode[];
  countOnly: boolean;
}): Promise<Page> {
  const page: Page = { items: [], count: 0, scannedCount: 0, bytes: 0 };
  const limit = opts.limit ?? Infinity;
  let after: Item | undefined;
  for (;;) {
    const want = Math.min(batchSize, limit - page.scannedCount);
    const batch = await opts.fetch(after, want);
    for (const item of batch) {
      page.scannedCount++;
      page.bytes += itemSize(item);
      if (!opts.filter || evaluate(opts.filter, item)) {
        page.count++;
        if (!opts.countOnly)
          page.items.push(opts.projection ? project(item, opts.projection) : item);
      }
      if (page.scannedCount >= limit || page.bytes >= maxPageBytes) {
        page.lastKey = keyOf(opts.schema, item);
        return page;
      }
    }
    if (batch.length < want) return page;
    after = batch[batch.length - 1];
  }
}

/** Select and projection rules shared by Query and Scan. */
export function checkSelect(
  select: unknown,
  hasProjection: boolean,
  usesLegacyAttributes: boolean,
  indexName: unknown,
): boolean {
  const what = usesLegacyAttributes ? 'AttributesToGet' : 'ProjectionExpression';
  if (select === 'ALL_PROJECTED_ATTRIBUTES' && indexName == null) {
    throw validation('ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName');
  }
  if (select === 'ALL_ATTRIBUTES' && hasProjection) {
    throw validation(`Cannot specify the ${what} when choosing to get ALL_ATTRIBUTES`);
  }
  if (select === 'COUNT' && hasProjection) {
    throw validation(`Cannot specify the ${what} when choosing to get only the COUNT`);
  }
  if (select === 'SPECIFIC_ATTRIBUTES' && !hasProjection) {
    throw validation(
      'Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES',
    );
  }
  if (indexName != null) {
    throw validation(`The table does not have the specified index: ${String(indexName)}`);
  }
  return select === 'COUNT';
}

export function pageResponse(page: Page, countOnly: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!countOnly) out.Items = page.items;
  out.Count = page.count;
  out.ScannedCount = page.scannedCount;
  if (page.lastKey) out.LastEvaluatedKey = page.lastKey;
  return out;
}
