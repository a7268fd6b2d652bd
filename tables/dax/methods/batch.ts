// BatchGetItem and BatchWriteItem over DAX. Their answers are the odd ones out: a
// batch get sends an array of two and then its consumed capacities as a third value
// outside it (the client's CustomAssemblers.js expects exactly that), a batch write
// sends three values.
import { validation } from '../../errors.ts';
import type { Item } from '../../values.ts';
import { CborWriter, type Cbor } from '../cbor.ts';
import { Placeholders, expressionText, projectionPaths } from '../sexpr.ts';
import { decodeKey, decodeValues, encodeKey, encodeValues, type DaxKeySchema } from '../values.ts';
import {
  SUCCESS,
  bytesArg,
  call,
  consumedBytes,
  keySchemaOf,
  kwargsFields,
  withoutKey,
  writeItem,
  type DaxContext,
} from './common.ts';

function tablesOf(v: Cbor): [string, Cbor][] {
  if (!(v instanceof Map)) throw validation('DAX request: malformed RequestItems');
  return [...v].map(([k, x]) => [typeof k === 'string' ? k : String(k), x]);
}

function writeConsumed(w: CborWriter, out: Record<string, unknown>): void {
  const consumed = (out.ConsumedCapacity ?? []) as Parameters<typeof consumedBytes>[0][];
  w.array(consumed.length);
  for (const c of consumed) w.bytes(consumedBytes(c));
}

export async function batchGetItem(ctx: DaxContext, args: Cbor[]): Promise<Buffer> {
  const schemas = new Map<string, DaxKeySchema>();
  const projections = new Map<string, (string | number)[][]>();
  const requestItems: Record<string, unknown> = {};
  for (const [table, spec] of tablesOf(args[0])) {
    if (!Array.isArray(spec) || spec.length !== 3 || !Array.isArray(spec[2])) {
      throw validation('DAX request: malformed RequestItems');
    }
    const schema = await keySchemaOf(ctx, table);
    schemas.set(table, schema);
    const [consistent, projection, keys] = spec;
    const ph = new Placeholders();
    const fields: Record<string, unknown> = {
      Keys: keys.map((k) => decodeKey(bytesArg(k, 'key'), schema)),
      ConsistentRead: consistent === true,
    };
    if (Buffer.isBuffer(projection)) {
      fields.ProjectionExpression = expressionText(projection, 'projection', ph, 'p');
      projections.set(table, projectionPaths(projection));
    }
    requestItems[table] = { ...fields, ...ph.fields() };
  }
  const kw = kwargsFields(args[1], []);
  const out = await call(ctx, 'BatchGetItem', { RequestItems: requestItems, ...kw.fields });
  const responses = Object.entries((out.Responses ?? {}) as Record<string, Item[]>);
  const w = new CborWriter().raw(SUCCESS).array(2).map(responses.length);
  for (const [table, items] of responses) {
    const schema = schemas.get(table)!;
    const projection = projections.get(table);
    w.text(table);
    if (projection) {
      w.array(items.length);
      for (const item of items) writeItem(w, item, ctx, schema, projection);
    } else {
      w.array(items.length * 2);
      for (const item of items) {
        w.bytes(encodeKey(item, schema));
        w.bytes(encodeValues(withoutKey(item, schema), schema, ctx.lists));
      }
    }
  }
  const unprocessed = Object.entries(
    (out.UnprocessedKeys ?? {}) as Record<string, { Keys: Item[] }>,
  );
  w.map(unprocessed.length);
  for (const [table, { Keys }] of unprocessed) {
    w.text(table).array(Keys.length);
    for (const k of Keys) w.bytes(encodeKey(k, schemas.get(table)!));
  }
  writeConsumed(w, out);
  return w.encoded();
}

type WriteRequest = { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } };

export async function batchWriteItem(ctx: DaxContext, args: Cbor[]): Promise<Buffer> {
  const schemas = new Map<string, DaxKeySchema>();
  const requestItems: Record<string, WriteRequest[]> = {};
  for (const [table, pairs] of tablesOf(args[0])) {
    if (!Array.isArray(pairs) || pairs.length % 2) {
      throw validation('DAX request: malformed RequestItems');
    }
    const schema = await keySchemaOf(ctx, table);
    schemas.set(table, schema);
    const writes: WriteRequest[] = [];
    for (let i = 0; i < pairs.length; i += 2) {
      const key = decodeKey(bytesArg(pairs[i], 'key'), schema);
      const values = pairs[i + 1];
      writes.push(
        values === null
          ? { DeleteRequest: { Key: key } }
          : {
              PutRequest: {
                Item: { ...decodeValues(bytesArg(values, 'item'), ctx.lists), ...key },
              },
            },
      );
    }
    requestItems[table] = writes;
  }
  const kw = kwargsFields(args[1], []);
  const out = await call(ctx, 'BatchWriteItem', { RequestItems: requestItems, ...kw.fields });
  const unprocessed = Object.entries(
    (out.UnprocessedItems ?? {}) as Record<string, WriteRequest[]>,
  );
  const w = new CborWriter().raw(SUCCESS).map(unprocessed.length);
  for (const [table, writes] of unprocessed) {
    const schema = schemas.get(table)!;
    w.text(table).array(writes.length * 2);
    for (const r of writes) {
      if (r.PutRequest) {
        w.bytes(encodeKey(r.PutRequest.Item, schema));
        w.bytes(encodeValues(withoutKey(r.PutRequest.Item, schema), schema, ctx.lists));
      } else {
        w.bytes(encodeKey(r.DeleteRequest!.Key, schema)).null();
      }
    }
  }
  writeConsumed(w, out);
  // Item collection metrics: none (the table service does not report them).
  w.map(0);
  return w.encoded();
}
