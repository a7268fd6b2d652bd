// BatchGetItem: up to 100 keys over any tables. Everything is validated before the
// first read; keys past the 16 MB response limit come back in UnprocessedKeys.
import { validation } from '../errors.ts';
import { project } from '../expressions/evaluate.ts';
import type { PathNode } from '../expressions/ast.ts';
import { checkExpressionParams, parseExpressions } from '../expressions/request.ts';
import { attributesToGetToPaths } from '../legacy.ts';
import type { TableMeta } from '../storage/engine.ts';
import {
  attributesToGet,
  checkRequest,
  expression,
  returnConsumedCapacity,
  stringMap,
  type Schema,
} from '../validate.ts';
import { checkItem, checkKey, itemSize, type Item } from '../values.ts';
import { consumedCapacity, readUnits, requireTable, storageKey, type Action } from './context.ts';

export const schema: Schema = {
  RequestItems: {
    type: 'Map',
    notNull: true,
    minLength: 1,
    keys: { type: 'String', regex: '[a-zA-Z0-9_.-]+', minLength: 3, maxLength: 255 },
    items: {
      type: 'Struct',
      fields: {
        Keys: {
          type: 'List',
          notNull: true,
          minLength: 1,
          maxLength: 100,
          items: { type: 'AttrMap' },
        },
        AttributesToGet: attributesToGet,
        ConsistentRead: { type: 'Boolean' },
        ProjectionExpression: expression,
        ExpressionAttributeNames: stringMap,
      },
    },
  },
  ReturnConsumedCapacity: returnConsumedCapacity,
};

const maxResponseBytes = 16 * 1024 * 1024;

interface TableRequest {
  meta: TableMeta;
  raw: Record<string, unknown>;
  keys: Item[];
  projection?: PathNode[];
  consistent: boolean;
}

export const batchGetItem: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const requestItems = req.RequestItems as Record<string, Record<string, unknown>>;
  const plans: {
    name: string;
    keys: Item[];
    projection?: PathNode[];
    raw: Record<string, unknown>;
  }[] = [];
  let total = 0;
  for (const [name, r] of Object.entries(requestItems)) {
    checkExpressionParams(r, ['ProjectionExpression'], ['AttributesToGet']);
    const legacy = attributesToGetToPaths(r.AttributesToGet);
    const projection = parseExpressions(r).projection ?? legacy;
    const seen = new Set<string>();
    const keys = (r.Keys as unknown[]).map((k) => {
      const key = checkItem(k);
      const id = JSON.stringify(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : 1)));
      if (seen.has(id)) throw validation('Provided list of item keys contains duplicates');
      seen.add(id);
      if (++total > 100) throw validation('Too many items requested for the BatchGetItem call');
      return key;
    });
    plans.push({ name, keys, projection, raw: r });
  }
  const tables: TableRequest[] = [];
  for (const p of plans) {
    const meta = await requireTable(ctx, p.name);
    for (const k of p.keys) checkKey(meta.schema, k);
    tables.push({
      meta,
      raw: p.raw,
      keys: p.keys,
      projection: p.projection,
      consistent: p.raw.ConsistentRead === true,
    });
  }

  const responses: Record<string, Item[]> = {};
  const unprocessed: Record<string, Record<string, unknown>> = {};
  const capacity: Record<string, unknown>[] = [];
  let bytes = 0;
  for (const t of tables) {
    await ctx.capacity?.admit(t.meta, 'read', t.keys.length * readUnits(0, t.consistent));
  }
  for (const t of tables) {
    responses[t.meta.name] = [];
    const cache = t.consistent ? undefined : ctx.cache?.cache;
    const token = cache?.token(t.meta);
    const hits: boolean[] = [];
    const found = await Promise.all(
      t.keys.map(async (k, i) => {
        const sk = storageKey(t.meta.schema, k);
        const hit = cache?.item(t.meta, sk);
        hits[i] = !!hit;
        if (hit) return hit.item;
        const item = await ctx.engine.getItem(t.meta, sk);
        if (token !== undefined) cache!.fillItem(t.meta, sk, item, token);
        return item;
      }),
    );
    let units = 0;
    const left: Item[] = [];
    found.forEach((item, i) => {
      if (bytes > maxResponseBytes) {
        left.push(t.keys[i]!);
        return;
      }
      const size = item ? itemSize(item) : 0;
      // Keys answered by the cache never reach the table: they consume nothing.
      if (!hits[i]) units += readUnits(size, t.consistent);
      if (!item) return;
      bytes += size;
      responses[t.meta.name]!.push(t.projection ? project(item, t.projection) : item);
    });
    if (left.length) unprocessed[t.meta.name] = { ...t.raw, Keys: left };
    const cc = consumedCapacity(ctx, req, t.meta.name, 'read', units);
    if (cc) capacity.push(cc);
  }
  const out: Record<string, unknown> = { Responses: responses, UnprocessedKeys: unprocessed };
  if (capacity.length) out.ConsumedCapacity = capacity;
  return out;
};
