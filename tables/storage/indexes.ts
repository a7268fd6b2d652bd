// Global secondary indexes as index tables. Each GSI is one more engine table
// (its own `id`) whose rows are the projected items, keyed by:
//
//   hash  = index hash key bytes
//   range = esc(index range key bytes) 00 00 esc(table hash bytes) 00 00 table range bytes
//
// Many items may share an index key, so the table key makes the row unique. esc
// doubles as an order-preserving terminator (00 -> 00 ff, then 00 00 ends the
// field), so the composite sorts first by index range key in DynamoDB order
// (values.ts keyBytes) and every engine reads an index exactly like a table.
import { keyBytes, typeOf, type Item, type KeySchema } from '../values.ts';
import type { Bound, IndexMeta, StorageKey, TableMeta } from './engine.ts';

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

/** The engine view of an index table: engines only use the id. */
export function indexTable(meta: TableMeta, index: IndexMeta): TableMeta {
  return { ...meta, id: index.id, schema: index.schema, indexes: undefined };
}

/** The index row key of an item, or undefined if the item is not in the index. */
export function indexKey(table: KeySchema, index: IndexMeta, item: Item): StorageKey | undefined {
  const { hash, range } = index.schema;
  const h = item[hash.name];
  if (!h || typeOf(h) !== hash.type) return undefined;
  const parts: Buffer[] = [];
  if (range) {
    const r = item[range.name];
    if (!r || typeOf(r) !== range.type) return undefined;
    parts.push(esc(keyBytes(range.type, r)), end);
  }
  parts.push(esc(keyBytes(table.hash.type, item[table.hash.name]!)), end);
  if (table.range) parts.push(keyBytes(table.range.type, item[table.range.name]!));
  return { hash: keyBytes(hash.type, h), range: Buffer.concat(parts) };
}

/** The attributes an index holds of an item: both keys plus its projection. */
export function projectForIndex(table: KeySchema, index: IndexMeta, item: Item): Item {
  if (index.projection === 'ALL') return item;
  const names = [table.hash, table.range, index.schema.hash, index.schema.range]
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
  for (const d of [index.schema.hash, index.schema.range, table.hash, table.range]) {
    if (d) out[d.name] = item[d.name]!;
  }
  return out;
}

/** A bound on the index range key, as a bound on the composite row key. */
export function indexBound(b: Bound, isLower: boolean): Bound {
  const e = esc(b.bytes);
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
  for (const index of meta.indexes ?? []) {
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
