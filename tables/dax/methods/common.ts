// What every DAX method handler shares: the table service call, the table's key
// schema, the keyword arguments (kwargs) as DynamoDB request fields, and the
// encodings of items and consumed capacity in answers.
import { validation } from '../../errors.ts';
import type { ActionResult } from '../../http.ts';
import type { Item } from '../../values.ts';
import { CborWriter, type Cbor } from '../cbor.ts';
import { Placeholders, expressionText, projectionPaths } from '../sexpr.ts';
import {
  decodeCompoundKey,
  decodeKey,
  encodeValues,
  writeAttributeValue,
  type AttributeLists,
  type DaxKeySchema,
} from '../values.ts';

export interface DaxContext {
  invoke: (name: string, request: Record<string, unknown>) => Promise<ActionResult>;
  lists: AttributeLists;
}

/** The successful answer's first value (an empty array). */
export const SUCCESS = Buffer.from([0x80]);

/** Calls a table service action; its DynamoDB error becomes the method's answer. */
export async function call(
  ctx: DaxContext,
  action: string,
  request: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const result = await ctx.invoke(action, request);
  if (!result.ok) throw result.error;
  return result.out;
}

export function tableName(v: Cbor): string {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'string') return v;
  throw validation('DAX request: malformed table name');
}

export function bytesArg(v: Cbor, what: string): Buffer {
  if (!Buffer.isBuffer(v)) throw validation(`DAX request: malformed ${what}`);
  return v;
}

/** The table's key as DescribeTable reports it (hash first), for the key bytes. */
export async function keySchemaOf(ctx: DaxContext, table: string): Promise<DaxKeySchema> {
  const out = await call(ctx, 'DescribeTable', { TableName: table });
  const t = out.Table as {
    KeySchema: { AttributeName: string; KeyType: string }[];
    AttributeDefinitions: { AttributeName: string; AttributeType: 'S' | 'N' | 'B' }[];
  };
  const typeOf = (n: string) =>
    t.AttributeDefinitions.find((d) => d.AttributeName === n)!.AttributeType;
  return [...t.KeySchema]
    .sort((a, b) => (a.KeyType === 'HASH' ? -1 : 0) - (b.KeyType === 'HASH' ? -1 : 0))
    .map((k) => ({ name: k.AttributeName, type: typeOf(k.AttributeName) }));
}

const consumedNames = ['NONE', 'TOTAL', 'INDEXES'];
const returnValueNames = ['', 'NONE', 'ALL_OLD', 'UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW'];
const selectNames = [
  '',
  'ALL_ATTRIBUTES',
  'ALL_PROJECTED_ATTRIBUTES',
  'COUNT',
  'SPECIFIC_ATTRIBUTES',
];

/** Keyword argument numbers (DaxDataRequestParam). */
const P = {
  Projection: 0,
  ConsistentRead: 2,
  ReturnConsumedCapacity: 3,
  Condition: 4,
  ReturnItemCollectionMetrics: 6,
  ReturnValues: 7,
  Update: 8,
  ExclusiveStartKey: 9,
  Filter: 10,
  IndexName: 11,
  KeyCondition: 12,
  Limit: 13,
  ScanIndexForward: 14,
  Select: 15,
  Segment: 16,
  TotalSegments: 17,
  ClientRequestToken: 19,
} as const;

export interface Kwargs {
  /** DynamoDB request fields. */
  fields: Record<string, unknown>;
  /** The projection's paths in order, when there is one. */
  projection?: (string | number)[][];
}

/**
 * The DynamoDB fields of a kwargs map. Expressions come back as text over fresh
 * placeholders; `keyCondition` is Query's separate argument.
 */
export function kwargsFields(raw: Cbor, schema: DaxKeySchema, keyCondition?: Cbor): Kwargs {
  const args = raw instanceof Map ? raw : new Map<Cbor, Cbor>();
  const ph = new Placeholders();
  const fields: Record<string, unknown> = {};
  const get = (k: number) => args.get(k);
  const int = (k: number) => {
    const v = get(k);
    return typeof v === 'number' ? v : undefined;
  };
  if (keyCondition !== undefined && keyCondition !== null) {
    fields.KeyConditionExpression = expressionText(keyCondition, 'condition', ph, 'k');
  }
  const exprs: [number, string, 'condition' | 'update' | 'projection', string][] = [
    [P.Condition, 'ConditionExpression', 'condition', 'c'],
    [P.Filter, 'FilterExpression', 'condition', 'f'],
    [P.Update, 'UpdateExpression', 'update', 'u'],
    [P.Projection, 'ProjectionExpression', 'projection', 'p'],
  ];
  for (const [k, field, kind, prefix] of exprs) {
    const v = get(k);
    if (v !== undefined && v !== null) fields[field] = expressionText(v, kind, ph, prefix);
  }
  const projection = get(P.Projection);
  const consistent = get(P.ConsistentRead);
  if (consistent !== undefined) fields.ConsistentRead = consistent === true || consistent === 1;
  const rcc = int(P.ReturnConsumedCapacity);
  if (rcc !== undefined) fields.ReturnConsumedCapacity = consumedNames[rcc];
  const ricm = int(P.ReturnItemCollectionMetrics);
  if (ricm !== undefined) fields.ReturnItemCollectionMetrics = ricm ? 'SIZE' : 'NONE';
  const rv = int(P.ReturnValues);
  if (rv !== undefined) fields.ReturnValues = returnValueNames[rv];
  const index = get(P.IndexName);
  if (index !== undefined) fields.IndexName = tableName(index);
  const start = get(P.ExclusiveStartKey);
  if (start !== undefined) {
    const raw = bytesArg(start, 'ExclusiveStartKey');
    fields.ExclusiveStartKey =
      index !== undefined ? decodeCompoundKey(raw) : decodeKey(raw, schema);
  }
  const limit = int(P.Limit);
  if (limit !== undefined) fields.Limit = limit;
  const forward = get(P.ScanIndexForward);
  if (forward !== undefined) fields.ScanIndexForward = forward === true || forward === 1;
  const select = int(P.Select);
  if (select !== undefined) fields.Select = selectNames[select];
  const segment = int(P.Segment);
  if (segment !== undefined) fields.Segment = segment;
  const total = int(P.TotalSegments);
  if (total !== undefined) fields.TotalSegments = total;
  const token = get(P.ClientRequestToken);
  if (typeof token === 'string') fields.ClientRequestToken = token;
  Object.assign(fields, ph.fields());
  return {
    fields,
    ...(projection !== undefined &&
      projection !== null && {
        projection: projectionPaths(projection),
      }),
  };
}

export function withoutKey(item: Item, schema: DaxKeySchema): Item {
  const out = { ...item };
  for (const k of schema) delete out[k.name];
  return out;
}

/**
 * The value of a projected path in a projected item. DynamoDB compacts the list
 * elements a projection keeps, so index k of a list is found at its rank among the
 * indexes the projection asks of that same list.
 */
function valueAt(item: Item, path: (string | number)[], all: (string | number)[][]) {
  let cur: unknown = { M: item };
  for (let j = 0; j < path.length; j++) {
    const step = path[j]!;
    const av = cur as { M?: Record<string, unknown>; L?: unknown[] } | undefined;
    if (typeof step === 'number') {
      const prefix = JSON.stringify(path.slice(0, j));
      const asked = [
        ...new Set(
          all.flatMap((p) =>
            typeof p[j] === 'number' && JSON.stringify(p.slice(0, j)) === prefix
              ? [p[j] as number]
              : [],
          ),
        ),
      ].sort((a, b) => a - b);
      cur = av?.L?.[asked.indexOf(step)];
    } else cur = av?.M?.[step];
    if (cur === undefined) return undefined;
  }
  return cur as Item[string];
}

/**
 * An item in an answer: with a projection, a map from each projected path's number
 * to its value; else its values' bytes (the client puts the key back itself).
 */
export function writeItem(
  w: CborWriter,
  item: Item,
  ctx: DaxContext,
  schema: DaxKeySchema,
  projection: (string | number)[][] | undefined,
): void {
  if (projection) {
    const found = projection.flatMap((p, i) => {
      const v = valueAt(item, p, projection);
      return v ? [[i, v] as const] : [];
    });
    w.map(found.length);
    for (const [i, v] of found) {
      w.int(i);
      writeAttributeValue(w, v);
    }
    return;
  }
  w.bytes(encodeValues(withoutKey(item, schema), schema, ctx.lists));
}

interface Consumed {
  TableName: string;
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
  LocalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

/**
 * ConsumedCapacity as the client's _decodeConsumedCapacityData reads it: a byte
 * string. Units are plain CBOR numbers (float64 for halves), as the client reads
 * them into JavaScript numbers.
 */
export function consumedBytes(c: Consumed): Buffer {
  const w = new CborWriter().text(c.TableName).float(c.CapacityUnits ?? 0);
  if (c.Table) w.float(c.Table.CapacityUnits ?? 0);
  else w.null();
  for (const indexes of [c.GlobalSecondaryIndexes, c.LocalSecondaryIndexes]) {
    if (!indexes) {
      w.null();
      continue;
    }
    const entries = Object.entries(indexes);
    w.map(entries.length);
    for (const [name, u] of entries) w.text(name).float(u.CapacityUnits ?? 0);
  }
  return w.encoded();
}

/** Answer map keys (DaxResponseParam). */
export const R = {
  Item: 0,
  ConsumedCapacity: 1,
  Attributes: 2,
  Items: 7,
  Count: 8,
  LastEvaluatedKey: 9,
  ScannedCount: 10,
} as const;

/** The answer map: the entries given, then ConsumedCapacity when the answer has it. */
export function answer(
  entries: [number, (w: CborWriter) => void][],
  out: Record<string, unknown>,
): Buffer {
  const consumed = out.ConsumedCapacity as Consumed | undefined;
  if (consumed) entries.push([R.ConsumedCapacity, (w) => w.bytes(consumedBytes(consumed))]);
  const w = new CborWriter().raw(SUCCESS).map(entries.length);
  for (const [k, write] of entries) {
    w.int(k);
    write(w);
  }
  return w.encoded();
}
