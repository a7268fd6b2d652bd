// TransactGetItems and TransactWriteItems over DAX: the client sends each field of
// the transaction's items as its own parallel array (operations, table names, keys,
// values, conditions, updates), and a cancelled transaction comes back with its
// reasons as a fourth element of the error's details.
import { DynamoError, validation } from '../../errors.ts';
import type { Item } from '../../values.ts';
import { CborWriter, type Cbor } from '../cbor.ts';
import { encodeError } from '../errors.ts';
import { Placeholders, expressionText, projectionPaths } from '../sexpr.ts';
import { decodeKey, decodeValues, type DaxKeySchema } from '../values.ts';
import {
  SUCCESS,
  bytesArg,
  call,
  keySchemaOf,
  kwargsFields,
  tableName,
  writeItem,
  type DaxContext,
} from './common.ts';

/** Operation numbers of the client's Constants.Operation. */
const Op = { Put: 2, Delete: 7, Update: 9, Check: 12 } as const;

function list(v: Cbor, n: number | undefined, what: string): Cbor[] {
  if (!Array.isArray(v) || (n !== undefined && v.length !== n)) {
    throw validation(`DAX request: malformed ${what}`);
  }
  return v;
}

async function schemas(ctx: DaxContext, tables: string[]): Promise<Map<string, DaxKeySchema>> {
  const out = new Map<string, DaxKeySchema>();
  for (const t of new Set(tables)) out.set(t, await keySchemaOf(ctx, t));
  return out;
}

const capacityKeys: Record<string, number> = {
  CapacityUnits: 1,
  ReadCapacityUnits: 2,
  WriteCapacityUnits: 3,
  TableName: 4,
  Table: 5,
  GlobalSecondaryIndexes: 6,
  LocalSecondaryIndexes: 7,
};

/** Consumed capacity as the client's _decodeConsumedCapacityExtended reads it. */
function writeCapacityMap(w: CborWriter, c: Record<string, unknown>): void {
  const entries = Object.entries(c).filter(([k]) => capacityKeys[k] !== undefined);
  w.map(entries.length);
  for (const [k, v] of entries) {
    w.int(capacityKeys[k]!);
    if (typeof v === 'string') w.text(v);
    else if (typeof v === 'number') w.float(v);
    else {
      // Table: {CapacityUnits}; the index maps: name -> {CapacityUnits}.
      const inner = Object.entries(v as Record<string, unknown>);
      w.map(inner.length);
      for (const [name, x] of inner) {
        if (capacityKeys[name] !== undefined) w.int(capacityKeys[name]);
        else w.text(name);
        if (typeof x === 'number') w.float(x);
        else writeCapacityMap(w, x as Record<string, unknown>);
      }
    }
  }
}

function writeConsumed(w: CborWriter, out: Record<string, unknown>): void {
  const consumed = out.ConsumedCapacity as Record<string, unknown>[] | undefined;
  if (!consumed) {
    w.null();
    return;
  }
  w.array(consumed.length);
  for (const c of consumed) writeCapacityMap(w, c);
}

export async function transactGetItems(ctx: DaxContext, args: Cbor[]): Promise<Buffer> {
  const tables = list(args[0], undefined, 'table names').map(tableName);
  const keys = list(args[1], tables.length, 'keys');
  const projections = list(args[2], tables.length, 'projections');
  const bySchema = await schemas(ctx, tables);
  const paths = projections.map((p) => (Buffer.isBuffer(p) ? projectionPaths(p) : undefined));
  const items = tables.map((table, i) => {
    const ph = new Placeholders();
    const projection = projections[i];
    return {
      Get: {
        TableName: table,
        Key: decodeKey(bytesArg(keys[i], 'key'), bySchema.get(table)!),
        ...(Buffer.isBuffer(projection) && {
          ProjectionExpression: expressionText(projection, 'projection', ph, 'p'),
        }),
        ...ph.fields(),
      },
    };
  });
  const kw = kwargsFields(args[3], []);
  const out = await call(ctx, 'TransactGetItems', { TransactItems: items, ...kw.fields });
  const responses = (out.Responses ?? []) as { Item?: Item }[];
  const w = new CborWriter().raw(SUCCESS).array(2).array(responses.length);
  responses.forEach((r, i) => {
    if (r.Item) writeItem(w, r.Item, ctx, bySchema.get(tables[i]!)!, paths[i]);
    else w.null();
  });
  writeConsumed(w, out);
  return w.encoded();
}

export async function transactWriteItems(ctx: DaxContext, args: Cbor[]): Promise<Buffer> {
  const ops = list(args[0], undefined, 'operations');
  const n = ops.length;
  const tables = list(args[1], n, 'table names').map(tableName);
  const keys = list(args[2], n, 'keys');
  const values = list(args[3], n, 'values');
  const onFailure = list(args[5], n, 'return values on condition check failure');
  const conditions = list(args[6], n, 'conditions');
  const updates = list(args[7], n, 'updates');
  const bySchema = await schemas(ctx, tables);
  const items = ops.map((op, i) => {
    const table = tables[i]!;
    const schema = bySchema.get(table)!;
    const key = decodeKey(bytesArg(keys[i], 'key'), schema);
    const ph = new Placeholders();
    const fields: Record<string, unknown> = { TableName: table };
    if (conditions[i] !== null) {
      fields.ConditionExpression = expressionText(conditions[i], 'condition', ph, 'c');
    }
    if (onFailure[i] === 2) fields.ReturnValuesOnConditionCheckFailure = 'ALL_OLD';
    if (op === Op.Put) {
      fields.Item = { ...decodeValues(bytesArg(values[i], 'item'), ctx.lists), ...key };
      return { Put: { ...fields, ...ph.fields() } };
    }
    fields.Key = key;
    if (op === Op.Update) {
      fields.UpdateExpression = expressionText(updates[i], 'update', ph, 'u');
      return { Update: { ...fields, ...ph.fields() } };
    }
    if (op === Op.Delete) return { Delete: { ...fields, ...ph.fields() } };
    if (op === Op.Check) return { ConditionCheck: { ...fields, ...ph.fields() } };
    throw validation(`DAX request: unknown transaction operation ${String(op)}`);
  });
  const kw = kwargsFields(args[8], []);
  let out: Record<string, unknown>;
  try {
    out = await call(ctx, 'TransactWriteItems', { TransactItems: items, ...kw.fields });
  } catch (err) {
    if (err instanceof DynamoError && Array.isArray(err.extra.CancellationReasons)) {
      return cancelled(err, ctx, tables, bySchema);
    }
    throw err;
  }
  const w = new CborWriter().raw(SUCCESS).array(3).null();
  writeConsumed(w, out);
  w.null();
  return w.encoded();
}

/** The error with each write's reason: code, message, and its item (without the key). */
function cancelled(
  err: DynamoError,
  ctx: DaxContext,
  tables: string[],
  bySchema: Map<string, DaxKeySchema>,
): Buffer {
  const reasons = err.extra.CancellationReasons as {
    Code?: string;
    Message?: string;
    Item?: Item;
  }[];
  const w = new CborWriter().array(reasons.length * 3);
  reasons.forEach((r, i) => {
    if (r.Code === undefined) w.null();
    else w.text(r.Code);
    if (r.Message === undefined) w.null();
    else w.text(r.Message);
    if (r.Item) writeItem(w, r.Item, ctx, bySchema.get(tables[i]!)!, undefined);
    else w.null();
  });
  return encodeError(err, w.encoded());
}
