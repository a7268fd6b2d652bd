// GetItem, PutItem, DeleteItem and UpdateItem over DAX: key and values out of their
// byte strings, kwargs into DynamoDB fields, the table service's answer back into
// DAX's answer map.
import type { Item } from '../../values.ts';
import { CborWriter, type Cbor } from '../cbor.ts';
import { decodeKey, decodeValues, writeAttributeValue, type DaxKeySchema } from '../values.ts';
import {
  R,
  answer,
  bytesArg,
  call,
  keySchemaOf,
  kwargsFields,
  tableName,
  writeItem,
  type DaxContext,
} from './common.ts';

type Out = Record<string, unknown>;

/**
 * Attributes of a write: all of them as values' bytes without the key (the client
 * adds the key from its request), or for UPDATED_* the changed ones as an attribute
 * list id with a map from position in that list to value.
 */
function attributesEntry(
  out: Out,
  returnValues: unknown,
  ctx: DaxContext,
  schema: DaxKeySchema,
): [number, (w: CborWriter) => void][] {
  const attrs = out.Attributes as Item | undefined;
  if (!attrs) return [];
  if (returnValues === 'UPDATED_OLD' || returnValues === 'UPDATED_NEW') {
    const names = Object.keys(attrs).sort();
    const inner = new CborWriter().int(ctx.lists.idOf(names)).map(names.length);
    names.forEach((n, i) => {
      inner.int(i);
      writeAttributeValue(inner, attrs[n]!);
    });
    return [[R.Attributes, (w) => w.bytes(inner.encoded())]];
  }
  return [[R.Attributes, (w) => writeItem(w, attrs, ctx, schema, undefined)]];
}

export async function getItem(ctx: DaxContext, args: Cbor[]): Promise<Buffer> {
  const table = tableName(args[0]);
  const schema = await keySchemaOf(ctx, table);
  const key = decodeKey(bytesArg(args[1], 'key'), schema);
  const kw = kwargsFields(args[2], schema);
  const out = await call(ctx, 'GetItem', { TableName: table, Key: key, ...kw.fields });
  const item = out.Item as Item | undefined;
  return answer(item ? [[R.Item, (w) => writeItem(w, item, ctx, schema, kw.projection)]] : [], out);
}

export async function putItem(ctx: DaxContext, args: Cbor[]): Promise<Buffer> {
  const table = tableName(args[0]);
  const schema = await keySchemaOf(ctx, table);
  const key = decodeKey(bytesArg(args[1], 'key'), schema);
  const values = decodeValues(bytesArg(args[2], 'item'), ctx.lists);
  const kw = kwargsFields(args[3], schema);
  const out = await call(ctx, 'PutItem', {
    TableName: table,
    Item: { ...values, ...key },
    ...kw.fields,
  });
  return answer(attributesEntry(out, kw.fields.ReturnValues, ctx, schema), out);
}

export async function deleteItem(ctx: DaxContext, args: Cbor[]): Promise<Buffer> {
  const table = tableName(args[0]);
  const schema = await keySchemaOf(ctx, table);
  const key = decodeKey(bytesArg(args[1], 'key'), schema);
  const kw = kwargsFields(args[2], schema);
  const out = await call(ctx, 'DeleteItem', { TableName: table, Key: key, ...kw.fields });
  return answer(attributesEntry(out, kw.fields.ReturnValues, ctx, schema), out);
}

export async function updateItem(ctx: DaxContext, args: Cbor[]): Promise<Buffer> {
  const table = tableName(args[0]);
  const schema = await keySchemaOf(ctx, table);
  const key = decodeKey(bytesArg(args[1], 'key'), schema);
  const kw = kwargsFields(args[2], schema);
  const out = await call(ctx, 'UpdateItem', { TableName: table, Key: key, ...kw.fields });
  return answer(attributesEntry(out, kw.fields.ReturnValues, ctx, schema), out);
}
