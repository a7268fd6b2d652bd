// Capacity of the transaction actions, by DynamoDB's arithmetic: every item of a
// transaction is read or written twice underneath (prepare and commit), so each
// costs double what the single-item action would: 2 write units per KB written
// (Put, Update, Delete, and each index row they change), 2 read units per 4 KB
// read (ConditionCheck, TransactGetItems; a missing item still costs one step).
// Single-item and batch writes use the same tally once (factor 1).
import { indexKey, projectForIndex } from '../storage/indexes.ts';
import type { IndexMeta, TableMeta } from '../storage/engine.ts';
import { itemSize, type Item } from '../values.ts';
import { readUnits, writeUnits, writeUnitsFor, type ActionContext } from './context.ts';

interface Units {
  read: number;
  write: number;
}

interface TableUnits extends Units {
  indexes: Map<string, Units & { local: boolean }>;
}

/** Index write units of an item going from `old` to `next`: row removed, row written. */
function indexUnits(meta: TableMeta, index: IndexMeta, old?: Item, next?: Item | null): number {
  const before = old && indexKey(meta.schema, index, old);
  const after = next ? indexKey(meta.schema, index, next) : undefined;
  const projectedOld = before && projectForIndex(meta.schema, index, old!);
  const projectedNew = after && projectForIndex(meta.schema, index, next!);
  const sameKey =
    before && after && before.hash.equals(after.hash) && before.range.equals(after.range);
  if (sameKey && JSON.stringify(projectedOld) === JSON.stringify(projectedNew)) return 0;
  let units = 0;
  if (projectedNew) units += writeUnits(itemSize(projectedNew));
  if (projectedOld && !sameKey) units += writeUnits(itemSize(projectedOld));
  return units;
}

export class CapacityTally {
  private readonly tables = new Map<string, TableUnits>();

  private table(meta: TableMeta): TableUnits {
    let t = this.tables.get(meta.name);
    if (!t) {
      t = { read: 0, write: 0, indexes: new Map() };
      this.tables.set(meta.name, t);
    }
    return t;
  }

  /** A read of `item` (absent: the minimum), `factor` times. */
  read(meta: TableMeta, factor: number, item?: Item): void {
    this.table(meta).read += factor * readUnits(item ? itemSize(item) : 0, true);
  }

  /** A write from `old` to `next` (null: deleted; undefined: left as it was), `factor` times. */
  write(
    meta: TableMeta,
    factor: number,
    old: Item | undefined,
    next: Item | null | undefined,
  ): void {
    const t = this.table(meta);
    if (next === undefined) {
      // A Delete of an absent item still costs its minimum.
      t.write += factor * writeUnitsFor(old);
      return;
    }
    t.write += factor * writeUnitsFor(old, next ?? undefined);
    for (const index of meta.indexes ?? []) {
      if (index.status === 'DELETING') continue;
      const units = indexUnits(meta, index, old, next);
      if (!units) continue;
      let u = t.indexes.get(index.name);
      if (!u) {
        u = { read: 0, write: 0, local: !!index.local };
        t.indexes.set(index.name, u);
      }
      u.write += factor * units;
    }
  }

  /**
   * Records the units and answers `{ ConsumedCapacity }` if it was asked for.
   * Transactions split each entry into read and write units; single-item and
   * batch writes, like DynamoDB's, give only CapacityUnits (`split` false).
   */
  response(ctx: ActionContext, mode: unknown, split = true): Record<string, unknown> {
    const shape = split ? splitShape : totalShape;
    const entries: Record<string, unknown>[] = [];
    for (const [name, t] of this.tables) {
      let indexWrite = 0;
      for (const u of t.indexes.values()) indexWrite += u.write;
      if (t.read) ctx.observer?.capacity(name, 'read', t.read);
      if (t.write + indexWrite) ctx.observer?.capacity(name, 'write', t.write + indexWrite);
      for (const [index, u] of t.indexes) {
        if (!u.local && u.write) ctx.observer?.indexCapacity?.(name, index, 'write', u.write);
      }
      if (mode !== 'TOTAL' && mode !== 'INDEXES') continue;
      const entry: Record<string, unknown> = {
        TableName: name,
        ...shape({ read: t.read, write: t.write + indexWrite }),
      };
      if (mode === 'INDEXES') {
        entry.Table = shape(t);
        const global: Record<string, unknown> = {};
        const local: Record<string, unknown> = {};
        for (const [index, u] of t.indexes) (u.local ? local : global)[index] = shape(u);
        if (Object.keys(global).length) entry.GlobalSecondaryIndexes = global;
        if (Object.keys(local).length) entry.LocalSecondaryIndexes = local;
      }
      entries.push(entry);
    }
    return entries.length ? { ConsumedCapacity: entries } : {};
  }
}

/**
 * ConsumedCapacity of one write from `old` to `next` (null: deleted; undefined:
 * nothing written): the table's units plus each index row put or removed.
 */
export function writeCapacity(
  ctx: ActionContext,
  mode: unknown,
  meta: TableMeta,
  old: Item | undefined,
  next: Item | null | undefined,
): Record<string, unknown> | undefined {
  const tally = new CapacityTally();
  tally.write(meta, 1, old, next);
  const out = tally.response(ctx, mode, false).ConsumedCapacity as
    Record<string, unknown>[] | undefined;
  return out?.[0];
}

function totalShape(u: Units): Record<string, number> {
  return { CapacityUnits: u.read + u.write };
}

function splitShape(u: Units): Record<string, number> {
  const out: Record<string, number> = { CapacityUnits: u.read + u.write };
  if (u.read) out.ReadCapacityUnits = u.read;
  if (u.write) out.WriteCapacityUnits = u.write;
  return out;
}
