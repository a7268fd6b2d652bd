// Query and Scan over DAX. Items come back as [key bytes, values bytes] pairs (or
// projection maps), and LastEvaluatedKey as key bytes, or for an index as a CBOR
// map of its attributes.
import type { Item } from '../../values.ts';
import type { CborWriter, Cbor } from '../cbor.ts';
import { encodeCompoundKey, encodeKey, encodeValues } from '../values.ts';
import {
  R,
  answer,
  call,
  keySchemaOf,
  kwargsFields,
  tableName,
  withoutKey,
  writeItem,
  type DaxContext,
} from './common.ts';

async function search(
  ctx: DaxContext,
  action: 'Query' | 'Scan',
  table: string,
  kwargs: Cbor,
  keyCondition?: Cbor,
): Promise<Buffer> {
  const schema = await keySchemaOf(ctx, table);
  const kw = kwargsFields(kwargs, schema, keyCondition);
  const out = await call(ctx, action, { TableName: table, ...kw.fields });
  const entries: [number, (w: CborWriter) => void][] = [];
  const items = out.Items as Item[] | undefined;
  if (items) {
    entries.push([
      R.Items,
      (w) => {
        w.array(items.length);
        for (const item of items) {
          if (kw.projection) writeItem(w, item, ctx, schema, kw.projection);
          else {
            w.array(2).bytes(encodeKey(item, schema));
            w.bytes(encodeValues(withoutKey(item, schema), schema, ctx.lists));
          }
        }
      },
    ]);
  }
  entries.push([R.Count, (w) => w.int(out.Count as number)]);
  entries.push([R.ScannedCount, (w) => w.int(out.ScannedCount as number)]);
  const last = out.LastEvaluatedKey as Item | undefined;
  if (last) {
    entries.push([
      R.LastEvaluatedKey,
      (w) => w.bytes(kw.fields.IndexName ? encodeCompoundKey(last) : encodeKey(last, schema)),
    ]);
  }
  return answer(entries, out);
}

export const query = (ctx: DaxContext, args: Cbor[]) =>
  search(ctx, 'Query', tableName(args[0]), args[2], args[1]);

export const scan = (ctx: DaxContext, args: Cbor[]) =>
  search(ctx, 'Scan', tableName(args[0]), args[1]);
