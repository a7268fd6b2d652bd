// What every action receives, and the helpers most of them share: the table
// lookup, storage keys, capacity arithmetic and ReturnValues.
import { notFound } from '../errors.ts';
import { project } from '../expressions/evaluate.ts';
import type { PathNode } from '../expressions/ast.ts';
import type { RequestCache } from '../cache/read-cache.ts';
import type { IndexBuilder } from '../storage/backfill.ts';
import type { IndexMeta, StorageEngine, StorageKey, TableMeta } from '../storage/engine.ts';
import { itemSize, keyBytes, type Item, type KeySchema } from '../values.ts';

export interface ActionObserver {
  capacity(table: string, kind: 'read' | 'write', units: number): void;
  /** The part of `capacity`'s units a global secondary index consumed. */
  indexCapacity?(table: string, index: string, kind: 'read' | 'write', units: number): void;
  conditionalCheckFailed(table: string): void;
}

export interface ActionContext {
  engine: StorageEngine;
  region: string;
  accountId: string;
  observer?: ActionObserver;
  /** Runs the background work of UpdateTable's index changes. */
  indexes?: IndexBuilder;
  /** Admits a request's estimated units against the table's budgets (tables/capacity/). */
  capacity?: CapacityAdmission;
  /** Epoch ms; tests inject it (UpdateTable's decrease limits). */
  now?: () => number;
  /** The read cache and this request's writes through it (tables/cache/). */
  cache?: RequestCache;
}

export interface CapacityAdmission {
  /** Throws DynamoDB's throttling error when a budget cannot pay `units`. */
  admit(meta: TableMeta, kind: 'read' | 'write', units: number, index?: IndexMeta): Promise<void>;
}

export type Request = Record<string, unknown>;
export type Response = Record<string, unknown>;
export type Action = (ctx: ActionContext, req: Request) => Promise<Response>;

export async function requireTable(
  ctx: ActionContext,
  name: string,
  message = 'Requested resource not found',
): Promise<TableMeta> {
  const meta = await ctx.engine.getTable(name);
  if (!meta) throw notFound(message);
  return meta;
}

export function storageKey(schema: KeySchema, item: Item): StorageKey {
  return {
    hash: keyBytes(schema.hash.type, item[schema.hash.name]!),
    range: schema.range ? keyBytes(schema.range.type, item[schema.range.name]!) : Buffer.alloc(0),
  };
}

/** Read units: 4 KB steps, at least one; eventually consistent reads cost half. */
export function readUnits(bytes: number, consistent: boolean): number {
  const units = Math.max(1, Math.ceil(bytes / 4096));
  return consistent ? units : units / 2;
}

/** Write units: 1 KB steps, at least one. */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

export function writeUnitsFor(...items: (Item | undefined)[]): number {
  return writeUnits(Math.max(0, ...items.map((i) => (i ? itemSize(i) : 0))));
}

/** Records the units and returns the ConsumedCapacity field if it was asked for. */
export function consumedCapacity(
  ctx: ActionContext,
  req: Request,
  table: string,
  kind: 'read' | 'write',
  units: number,
): Record<string, unknown> | undefined {
  ctx.observer?.capacity(table, kind, units);
  const mode = req.ReturnConsumedCapacity;
  if (mode !== 'TOTAL' && mode !== 'INDEXES') return undefined;
  const c: Record<string, unknown> = { TableName: table, CapacityUnits: units };
  if (mode === 'INDEXES') c.Table = { CapacityUnits: units };
  return c;
}

/**
 * ConsumedCapacity of a Query or Scan. On an index the units are the index's;
 * the table's are only those of fetching unprojected attributes (LSIs), as
 * DynamoDB reports them with INDEXES.
 */
export function readCapacity(
  ctx: ActionContext,
  req: Request,
  table: string,
  index: IndexMeta | undefined,
  indexUnits: number,
  tableUnits: number,
): Record<string, unknown> | undefined {
  if (!index) return consumedCapacity(ctx, req, table, 'read', tableUnits);
  const total = indexUnits + tableUnits;
  ctx.observer?.capacity(table, 'read', total);
  if (!index.local) ctx.observer?.indexCapacity?.(table, index.name, 'read', indexUnits);
  const mode = req.ReturnConsumedCapacity;
  if (mode !== 'TOTAL' && mode !== 'INDEXES') return undefined;
  const c: Record<string, unknown> = { TableName: table, CapacityUnits: total };
  if (mode === 'INDEXES') {
    c.Table = { CapacityUnits: tableUnits };
    c[index.local ? 'LocalSecondaryIndexes' : 'GlobalSecondaryIndexes'] = {
      [index.name]: { CapacityUnits: indexUnits },
    };
  }
  return c;
}

/** UPDATED_OLD / UPDATED_NEW return only the written paths of the item. */
export function returnedAttributes(
  mode: unknown,
  old: Item | undefined,
  next: Item | undefined,
  updated: PathNode[] = [],
): Item | undefined {
  let out: Item | undefined;
  switch (mode) {
    case 'ALL_OLD':
      out = old;
      break;
    case 'ALL_NEW':
      out = next;
      break;
    case 'UPDATED_OLD':
      out = old && project(old, updated);
      break;
    case 'UPDATED_NEW':
      out = next && project(next, updated);
      break;
  }
  return out && Object.keys(out).length ? out : undefined;
}

export function withFields(out: Response, fields: Record<string, unknown>): Response {
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}
