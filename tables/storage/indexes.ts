// Secondary indexes as index tables. Each index is one more engine table (its
// own `id`) whose rows are the projected items, keyed by:
//
//   hash  = index hash key bytes
//   range = esc(index range key bytes) 00 00 esc(table hash bytes) 00 00 table range bytes
//
// Many items may share an index key, so the table key makes the row unique. esc
// doubles as an order-preserving terminator (00 -> 00 ff, then 00 00 ends the
// field), so the composite sorts first by index range key in DynamoDB order
// (values.ts keyBytes) and every engine reads an index exactly like a table.
//
// A multi-attribute key (up to 4 partition and 4 sort attributes) encodes each
// part the same way, esc(bytes) 00 00, one after another: the hash is then
// unique per tuple and the range sorts by the sort attributes in order.
//
// A local secondary index has the table's hash key, so its rows belong to the
// item collection of their item: an engine may keep them in the item's own
// partition (the CQL engine does, see `localOf`), the sqlite engine keeps them in
// a table of their own inside the same transaction.
import { DynamoError, validation } from '../errors.ts';
import {
  itemSize,
  keyBytes,
  typeOf,
  valueSize,
  valuesEqual,
  type AttributeValue,
  type Item,
  type KeySchema,
  type KeyDef,
  hashDefs,
  keyDefs,
  rangeDefs,
} from '../values.ts';
import type { Bound, IndexMeta, StorageKey, TableMeta } from './engine.ts';

/** DynamoDB's limit on one item collection of a table with local indexes. */
export const maxItemCollectionBytes = 10 * 2 ** 30;

export const collectionTooLarge = () =>
  new DynamoError('ItemCollectionSizeLimitExceededException', 'Collection size exceeded.');

const end = Buffer.from([0, 0]);
const afterEnd = Buffer.from([0, 1]);

function esc(b: Buffer): Buffer {
  if (!b.includes(0)) return b;
  const out: number[] = [];
  for (const x of b) {
    if (x === 0) out.push(0, 0xff);
    else out.push(x);
  }
  return Buffer.from(out);
}

/** The indexes writes maintain: all but those being dropped. */
export const liveIndexes = (meta: TableMeta) =>
  (meta.indexes ?? []).filter((i) => i.status !== 'DELETING');

export const localIndexes = (meta: TableMeta) => (meta.indexes ?? []).filter((i) => i.local);

/**
 * The engine view of an index table: engines use its id, and for a local index
 * `localOf`, the table and the row prefix (1-5, by position: LSIs never change
 * after CreateTable) under which an engine may keep the rows in item partitions.
 */
export function indexTable(meta: TableMeta, index: IndexMeta): TableMeta {
  const view: TableMeta = { ...meta, id: index.id, schema: index.schema, indexes: undefined };
  if (index.local) view.localOf = { id: meta.id, prefix: localIndexes(meta).indexOf(index) + 1 };
  return view;
}

/** Whether a value may be an index key of that definition (backfill skips others). */
function indexable(def: KeyDef, v: AttributeValue | undefined, range: boolean): boolean {
  if (!v || typeOf(v) !== def.type) return false;
  if (def.type === 'N') return valueSize(v) <= (range ? 1024 : 2048);
  const n = keyBytes(def.type, v).length;
  return n > 0 && n <= (range ? 1024 : 2048);
}

/** esc(bytes) 00 00 per value: one part of a composite key. */
export function keyPart(def: KeyDef, v: AttributeValue): Buffer {
  return Buffer.concat([esc(keyBytes(def.type, v)), end]);
}

/** The hash bytes of an index partition: one value as is, several as parts. */
export function indexHash(schema: KeySchema, values: AttributeValue[]): Buffer {
  const defs = hashDefs(schema);
  if (defs.length === 1) return keyBytes(defs[0]!.type, values[0]!);
  return Buffer.concat(defs.map((d, i) => keyPart(d, values[i]!)));
}

/** The index row key of an item, or undefined if the item is not in the index. */
export function indexKey(table: KeySchema, index: IndexMeta, item: Item): StorageKey | undefined {
  const hashes = hashDefs(index.schema);
  if (!hashes.every((d) => indexable(d, item[d.name], false))) return undefined;
  const parts: Buffer[] = [];
  for (const d of rangeDefs(index.schema)) {
    if (!indexable(d, item[d.name], true)) return undefined;
    parts.push(keyPart(d, item[d.name]!));
  }
  parts.push(esc(keyBytes(table.hash.type, item[table.hash.name]!)), end);
  if (table.range) parts.push(keyBytes(table.range.type, item[table.range.name]!));
  return {
    hash: indexHash(
      index.schema,
      hashes.map((d) => item[d.name]!),
    ),
    range: Buffer.concat(parts),
  };
}

/**
 * DynamoDB refuses a write whose index key attribute has another type than its
 * definition, is empty or is too long (an absent one leaves the item out). An
 * update is checked on what it changes: a value the item already had (from before
 * the index existed) stays as it is.
 */
export function checkIndexKeys(meta: TableMeta, item: Item, before?: Item): void {
  const invalid = 'One or more parameter values were invalid: ';
  for (const index of liveIndexes(meta)) {
    const ranges = rangeDefs(index.schema);
    for (const def of keyDefs(index.schema)) {
      const v = item[def.name];
      if (!v || (before?.[def.name] && valuesEqual(before[def.name]!, v))) continue;
      const actual = typeOf(v);
      if (actual !== def.type) {
        throw validation(
          `${invalid}Type mismatch for Index Key ${def.name} Expected: ${def.type} Actual: ${actual} IndexName: ${index.name}`,
        );
      }
      const range = ranges.includes(def);
      if (def.type !== 'N' && keyBytes(def.type, v).length === 0) {
        throw validation(
          `One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty ${def.type === 'S' ? 'string' : 'binary'} value. IndexName: ${index.name}, IndexKey: ${def.name}`,
        );
      }
      if (!indexable(def, v, range)) {
        throw validation(
          range
            ? `${invalid}Aggregated size of all range keys has exceeded the size limit of 1024 bytes`
            : `${invalid}Size of hashkey has exceeded the maximum size limit of2048 bytes`,
        );
      }
    }
  }
}

/** The attributes an index holds of an item: both keys plus its projection. */
export function projectForIndex(table: KeySchema, index: IndexMeta, item: Item): Item {
  if (index.projection === 'ALL') return item;
  const names = [table.hash, table.range, ...keyDefs(index.schema)]
    .filter((d) => d !== undefined)
    .map((d) => d.name);
  if (index.projection === 'INCLUDE') names.push(...(index.nonKeyAttributes ?? []));
  const out: Item = {};
  for (const n of names) if (item[n] !== undefined) out[n] = item[n];
  return out;
}

/** The index key attributes plus the table key attributes (LastEvaluatedKey). */
export function indexKeyOf(table: KeySchema, index: IndexMeta, item: Item): Item {
  const out: Item = {};
  for (const d of [...keyDefs(index.schema), table.hash, table.range]) {
    if (d) out[d.name] = item[d.name]!;
  }
  return out;
}

/**
 * A bound on the index range key (on the sort attribute after `prefix`, the
 * keyPart()s of the sort attributes held equal), as a bound on the row key.
 */
export function indexBound(b: Bound, isLower: boolean, prefix = Buffer.alloc(0)): Bound {
  const e = Buffer.concat([prefix, esc(b.bytes)]);
  // Rows whose range key equals b start with esc(b) 00 00: esc(b) sorts before
  // all of them and esc(b) 00 01 after all of them.
  if (isLower) {
    return b.inclusive
      ? { bytes: e, inclusive: true }
      : { bytes: Buffer.concat([e, afterEnd]), inclusive: true };
  }
  return b.inclusive
    ? { bytes: Buffer.concat([e, afterEnd]), inclusive: false }
    : { bytes: e, inclusive: false };
}

/** The bounds of all rows whose range starts with `prefix` (keyPart()s, so ending 00 00). */
export function prefixBounds(prefix: Buffer): { lower: Bound; upper: Bound } {
  const upper = Buffer.from(prefix);
  upper[upper.length - 1] = 1;
  return { lower: { bytes: prefix, inclusive: true }, upper: { bytes: upper, inclusive: false } };
}

export interface IndexWrite {
  table: TableMeta;
  remove?: StorageKey;
  put?: { key: StorageKey; item: Item };
}

/** The index rows to remove and write when an item goes from `old` to `next`. */
export function indexWrites(
  meta: TableMeta,
  old: Item | undefined,
  next: Item | undefined | null,
): IndexWrite[] {
  const out: IndexWrite[] = [];
  for (const index of liveIndexes(meta)) {
    const w: IndexWrite = { table: indexTable(meta, index) };
    const before = old && indexKey(meta.schema, index, old);
    const after = next ? indexKey(meta.schema, index, next) : undefined;
    if (before && !(after && before.hash.equals(after.hash) && before.range.equals(after.range))) {
      w.remove = before;
    }
    if (after) w.put = { key: after, item: projectForIndex(meta.schema, index, next!) };
    if (w.remove || w.put) out.push(w);
  }
  return out;
}

/**
 * What an item adds to its item collection: the item and its local index rows,
 * each row with the 100 bytes of overhead DynamoDB counts for it.
 */
export function collectionBytes(meta: TableMeta, item: Item | undefined | null): number {
  if (!item) return 0;
  let n = itemSize(item);
  for (const index of localIndexes(meta)) {
    if (indexKey(meta.schema, index, item)) {
      n += itemSize(projectForIndex(meta.schema, index, item)) + 100;
    }
  }
  return n;
}
