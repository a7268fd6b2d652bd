// The paging rules Query and Scan share: Limit counts items read before the
// filter, a page stops once 1 MB has been read, LastEvaluatedKey is the key of
// the last item read when the page stopped early, and capacity is charged on all
// bytes read (filtered out or not).
import { validation } from '../errors.ts';
import { attributesToGet, tableName, type Schema } from '../validate.ts';
import type { Condition, PathNode } from '../expressions/ast.ts';
import { evaluate, project } from '../expressions/evaluate.ts';
import type { IndexMeta, TableMeta } from '../storage/engine.ts';
import {
  checkKey,
  itemSize,
  keyDefs,
  keyOf,
  typeOf,
  type Item,
  type KeySchema,
} from '../values.ts';
import { projectForIndex } from '../storage/indexes.ts';
import { storageKey, type ActionContext } from './context.ts';

export const maxPageBytes = 1024 * 1024;

/** The parameters Query and Scan validate alike, in DynamoDB's order. */
export const readSchema: Schema = {
  TableName: tableName,
  IndexName: { type: 'String', regex: '[a-zA-Z0-9_.-]+', minLength: 3, maxLength: 255 },
  Select: {
    type: 'String',
    enum: ['SPECIFIC_ATTRIBUTES', 'COUNT', 'ALL_ATTRIBUTES', 'ALL_PROJECTED_ATTRIBUTES'],
  },
  AttributesToGet: attributesToGet,
  Limit: { type: 'Integer', min: 1 },
  ConsistentRead: { type: 'Boolean' },
};
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
  /** What a matching item is answered as without a projection; default itself. */
  present?: (item: Item) => Item;
  countOnly: boolean;
  /** LastEvaluatedKey of an item; default the table key. */
  keyOf?: (item: Item) => Item;
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
          page.items.push(
            opts.projection
              ? project(item, opts.projection)
              : opts.present
                ? opts.present(item)
                : item,
          );
      }
      if (page.scannedCount >= limit || page.bytes >= maxPageBytes) {
        page.lastKey = opts.keyOf ? opts.keyOf(item) : keyOf(opts.schema, item);
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
  return select === 'COUNT';
}

/**
 * The index an IndexName names. A GSI is readable once ACTIVE and never
 * consistently; an LSI lives with its items and is read consistently on request.
 */
export function requireIndex(meta: TableMeta, req: Record<string, unknown>): IndexMeta | undefined {
  const name = req.IndexName as string | undefined;
  if (name == null) return undefined;
  const index = meta.indexes?.find((i) => i.name === name);
  if (!index || index.status === 'DELETING') {
    throw validation(`The table does not have the specified index: ${name}`);
  }
  if (index.status === 'CREATING') {
    throw validation(`Cannot read from backfilling global secondary index: ${name}`);
  }
  if (!index.local && req.ConsistentRead === true) {
    throw validation('Consistent reads are not supported on global secondary indexes');
  }
  return index;
}

/** The top-level attribute names an expression tree refers to. */
export function pathHeads(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const n of node) pathHeads(n, out);
  } else if (node && typeof node === 'object') {
    const n = node as { kind?: string; elems?: unknown[] };
    if (n.kind === 'path' && typeof n.elems?.[0] === 'string') out.add(n.elems[0]);
    else for (const v of Object.values(node)) pathHeads(v, out);
  }
  return out;
}

/**
 * Whether an index read must fetch the items from the table, as DynamoDB does for
 * an LSI asked for attributes it does not project (ALL_ATTRIBUTES, or names in
 * the projection or filter). A GSI holds only what it projects: ALL_ATTRIBUTES
 * on it is refused, other names it lacks are simply absent.
 */
export function fetchesFromTable(
  meta: TableMeta,
  index: IndexMeta | undefined,
  select: unknown,
  projection: PathNode[] | undefined,
  filter: Condition | undefined,
): boolean {
  if (!index || index.projection === 'ALL') return false;
  if (select === 'ALL_ATTRIBUTES') {
    if (index.local) return true;
    throw validation(
      `One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index ${index.name} because its projection type is not ALL`,
    );
  }
  if (!index.local) return false;
  const held = new Set(
    [meta.schema.hash, meta.schema.range, ...keyDefs(index.schema)]
      .filter((d) => d !== undefined)
      .map((d) => d.name),
  );
  if (index.projection === 'INCLUDE') for (const n of index.nonKeyAttributes ?? []) held.add(n);
  return [...pathHeads([projection, filter])].some((n) => !held.has(n));
}

/**
 * How items fetched from the table for an LSI read are answered when no
 * projection was asked: as the index projects them, unless ALL_ATTRIBUTES.
 */
export function presentFetched(
  meta: TableMeta,
  index: IndexMeta | undefined,
  fromTable: boolean,
  select: unknown,
): ((item: Item) => Item) | undefined {
  if (!index || !fromTable || select === 'ALL_ATTRIBUTES') return undefined;
  return (item) => projectForIndex(meta.schema, index, item);
}

/** Index rows replaced by their table items (a row whose item just went stays). */
export function tableItems(ctx: ActionContext, meta: TableMeta, rows: Item[]): Promise<Item[]> {
  return Promise.all(
    rows.map(async (r) => (await ctx.engine.getItem(meta, storageKey(meta.schema, r))) ?? r),
  );
}

/**
 * ExclusiveStartKey of a Query or Scan: the table's key, or for an index read
 * exactly the index and table key attributes.
 */
export function checkStartKey(meta: TableMeta, index: IndexMeta | undefined, key: Item): void {
  if (index) {
    checkIndexStartKey(meta, index, key);
    return;
  }
  try {
    checkKey(meta.schema, key);
  } catch (err) {
    throw validation(`The provided starting key is invalid: ${(err as Error).message}`);
  }
}

function checkIndexStartKey(meta: TableMeta, index: IndexMeta, key: Item): void {
  const defs = [...keyDefs(index.schema), meta.schema.hash, meta.schema.range];
  const names = new Set(defs.filter((d) => d !== undefined).map((d) => d.name));
  const ok =
    Object.keys(key).length === names.size &&
    defs.every((d) => !d || (key[d.name] !== undefined && typeOf(key[d.name]!) === d.type));
  if (!ok) {
    throw validation(
      'The provided starting key is invalid: The provided key element does not match the schema',
    );
  }
}

export function pageResponse(page: Page, countOnly: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!countOnly) out.Items = page.items;
  out.Count = page.count;
  out.ScannedCount = page.scannedCount;
  if (page.lastKey) out.LastEvaluatedKey = page.lastKey;
  return out;
}
