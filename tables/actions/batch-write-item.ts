// BatchWriteItem: up to 25 puts and deletes over any tables. The whole batch is
// validated before the first write, so a bad request writes nothing. Writes run in
// parallel; one that fails in storage is handed back in UnprocessedItems (the
// client retries it), and only a batch where every write failed is an error.
import { validation } from '../errors.ts';
import type { StorageKey, TableMeta } from '../storage/engine.ts';
import {
  checkRequest,
  returnConsumedCapacity,
  returnItemCollectionMetrics,
  type Schema,
} from '../validate.ts';
import {
  checkItem,
  checkItemKey,
  checkKey,
  itemSize,
  keyOf,
  maxItemSize,
  type Item,
} from '../values.ts';
import { requireTable, storageKey, writeUnitsFor, type Action } from './context.ts';
import { itemCollectionMetrics } from './item-collections.ts';
import { CapacityTally } from './transact-capacity.ts';
import { checkIndexKeys } from '../storage/indexes.ts';

export const schema: Schema = {
  RequestItems: {
    type: 'Map',
    notNull: true,
    minLength: 1,
    keys: { type: 'String', regex: '[a-zA-Z0-9_.-]+', minLength: 3, maxLength: 255 },
    values: { minLength: 1, maxLength: 25 },
    items: {
      type: 'List',
      items: {
        type: 'Struct',
        fields: {
          PutRequest: { type: 'Struct', fields: { Item: { type: 'AttrMap', notNull: true } } },
          DeleteRequest: { type: 'Struct', fields: { Key: { type: 'AttrMap', notNull: true } } },
        },
      },
    },
  },
  ReturnConsumedCapacity: returnConsumedCapacity,
  ReturnItemCollectionMetrics: returnItemCollectionMetrics,
};

interface Write {
  meta: TableMeta;
  raw: unknown;
  key: StorageKey;
  put?: Item;
}

export const batchWriteItem: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const requestItems = req.RequestItems as Record<
    string,
    { PutRequest?: { Item: unknown }; DeleteRequest?: { Key: unknown } }[]
  >;
  const parsed: { name: string; raw: unknown; put?: Item; del?: Item }[] = [];
  for (const [name, list] of Object.entries(requestItems)) {
    for (const r of list) {
      if (!r.PutRequest === !r.DeleteRequest) {
        throw validation(
          'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes',
        );
      }
      if (r.PutRequest) {
        const item = checkItem(r.PutRequest.Item);
        if (itemSize(item) > maxItemSize)
          throw validation('Item size has exceeded the maximum allowed size');
        parsed.push({ name, raw: r, put: item });
      } else {
        parsed.push({ name, raw: r, del: checkItem(r.DeleteRequest!.Key) });
      }
    }
  }
  if (parsed.length > 25) throw validation('Too many items requested for the BatchWriteItem call');
  const metas = new Map<string, TableMeta>();
  for (const name of Object.keys(requestItems)) metas.set(name, await requireTable(ctx, name));
  const writes: Write[] = [];
  const seen = new Set<string>();
  for (const p of parsed) {
    const meta = metas.get(p.name)!;
    if (p.put) {
      checkItemKey(meta.schema, p.put);
      checkIndexKeys(meta, p.put);
    } else checkKey(meta.schema, p.del!);
    const key = storageKey(meta.schema, p.put ? keyOf(meta.schema, p.put) : p.del!);
    const id = `${p.name}\0${key.hash.toString('hex')}\0${key.range.toString('hex')}`;
    if (seen.has(id)) throw validation('Provided list of item keys contains duplicates');
    seen.add(id);
    writes.push({ meta, raw: p.raw, key, put: p.put });
  }

  const estimates = new Map<TableMeta, number>();
  for (const w of writes) {
    estimates.set(w.meta, (estimates.get(w.meta) ?? 0) + (w.put ? writeUnitsFor(w.put) : 1));
  }
  for (const [meta, units] of estimates) await ctx.capacity?.admit(meta, 'write', units);
  for (const w of writes) ctx.cache?.writing(w.meta, w.key);
  const results = await Promise.allSettled(
    writes.map((w) =>
      w.put ? ctx.engine.putItem(w.meta, w.key, w.put) : ctx.engine.deleteItem(w.meta, w.key),
    ),
  );
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length === writes.length) throw failed[0]!.reason;
  const unprocessed: Record<string, unknown[]> = {};
  // Blind writes: the old item is unknown, so only the rows written are counted.
  const tally = new CapacityTally();
  results.forEach((r, i) => {
    const w = writes[i]!;
    if (r.status === 'rejected') (unprocessed[w.meta.name] ??= []).push(w.raw);
    else {
      tally.write(w.meta, 1, undefined, w.put);
      ctx.cache?.wrote(w.meta, w.key, w.put ?? null);
    }
  });
  const out: Record<string, unknown> = {
    UnprocessedItems: unprocessed,
    ...tally.response(ctx, req.ReturnConsumedCapacity, false),
  };
  // One entry per item collection written, as DynamoDB lists them per table.
  const metrics: Record<string, Record<string, unknown>[]> = {};
  const counted = new Set<string>();
  for (const [i, w] of writes.entries()) {
    const id = `${w.meta.name}\0${w.key.hash.toString('hex')}`;
    if (results[i]!.status === 'rejected' || counted.has(id)) continue;
    counted.add(id);
    const m = await itemCollectionMetrics(ctx, req, w.meta, w.put ?? parsed[i]!.del!);
    if (m) (metrics[w.meta.name] ??= []).push(m);
  }
  if (Object.keys(metrics).length) out.ItemCollectionMetrics = metrics;
  return out;
};
