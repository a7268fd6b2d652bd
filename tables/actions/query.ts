// Query: one partition, in range-key order, bounded by the key condition. The key
// condition (expression or legacy KeyConditions) becomes byte bounds the engine
// reads as one range; FilterExpression runs on what was read.
import { validation } from '../errors.ts';
import type { Condition, Operand } from '../expressions/ast.ts';
import { checkExpressionParams, parseExpressions } from '../expressions/request.ts';
import { attributesToGetToPaths, conditionsToAst } from '../legacy.ts';
import type { Bound } from '../storage/engine.ts';
import {
  attrMap,
  checkRequest,
  condition,
  conditionalOperator,
  expression,
  returnConsumedCapacity,
  stringMap,
  type Schema,
} from '../validate.ts';
import {
  checkItem,
  compareScalar,
  hashDefs,
  itemSize,
  keyBytes,
  keyDefs,
  rangeDefs,
  typeOf,
  type AttributeValue,
  type Item,
} from '../values.ts';
import { readCapacity, readUnits, requireTable, storageKey, type Action } from './context.ts';
import {
  indexBound,
  indexHash,
  indexKey,
  indexKeyOf,
  indexTable,
  keyPart,
  prefixBounds,
} from '../storage/indexes.ts';
import {
  checkStartKey,
  readSchema,
  checkSelect,
  pageResponse,
  readPage,
  requireIndex,
  fetchesFromTable,
  pathHeads,
  presentFetched,
  tableItems,
} from './read-page.ts';

export const schema: Schema = {
  ...readSchema,
  KeyConditions: condition,
  QueryFilter: condition,
  ConditionalOperator: conditionalOperator,
  ScanIndexForward: { type: 'Boolean' },
  ExclusiveStartKey: attrMap,
  ReturnConsumedCapacity: returnConsumedCapacity,
  ProjectionExpression: expression,
  FilterExpression: expression,
  KeyConditionExpression: expression,
  ExpressionAttributeNames: stringMap,
  ExpressionAttributeValues: attrMap,
};

type KeyOp = 'EQ' | 'LT' | 'LE' | 'GT' | 'GE' | 'BETWEEN' | 'BEGINS_WITH';
interface KeyCondition {
  op: KeyOp;
  values: AttributeValue[];
}

const flipped: Record<string, string> = { '=': '=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
const opNames: Record<string, KeyOp> = { '=': 'EQ', '<': 'LT', '<=': 'LE', '>': 'GT', '>=': 'GE' };

/** Splits a KeyConditionExpression into one condition per key attribute. */
function keyConditionsOf(c: Condition): Map<string, KeyCondition> {
  const out = new Map<string, KeyCondition>();
  const fail = (msg: string) => validation(`Invalid KeyConditionExpression: ${msg}`);
  const attrOf = (o: Operand): string | undefined => {
    if (o.kind === 'size')
      throw validation('KeyConditionExpressions cannot contain nested operations');
    if (o.kind !== 'path') return undefined;
    if (o.elems.length > 1) {
      throw validation('KeyConditionExpressions cannot have conditions on nested attributes');
    }
    return o.elems[0] as string;
  };
  const add = (name: string | undefined, cond: KeyCondition) => {
    if (!name)
      throw fail('Invalid condition in KeyConditionExpression: No key attribute specified');
    if (out.has(name))
      throw validation('KeyConditionExpressions must only contain one condition per key');
    out.set(name, cond);
  };
  const value = (o: Operand): AttributeValue => (o as { value: AttributeValue }).value;
  const walk = (c: Condition): void => {
    switch (c.kind) {
      case 'and':
        walk(c.left);
        walk(c.right);
        return;
      case 'or':
      case 'not':
      case 'in':
        throw validation(
          `Invalid operator used in KeyConditionExpression: ${c.kind.toUpperCase()}`,
        );
      case 'attribute_exists':
      case 'attribute_not_exists':
      case 'attribute_type':
      case 'contains':
        throw validation(`Invalid operator used in KeyConditionExpression: ${c.kind}`);
      case 'compare': {
        if (c.op === '<>') throw validation('Invalid operator used in KeyConditionExpression: <>');
        const l = attrOf(c.left);
        const r = attrOf(c.right);
        if (l && r) {
          throw validation(
            'Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition',
          );
        }
        if (l) add(l, { op: opNames[c.op]!, values: [value(c.right)] });
        else add(r, { op: opNames[flipped[c.op]!]!, values: [value(c.left)] });
        return;
      }
      case 'between': {
        const a = attrOf(c.arg);
        if (!a) {
          throw validation(
            'Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand',
          );
        }
        if (attrOf(c.low) || attrOf(c.high)) {
          throw validation(
            'Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition',
          );
        }
        add(a, { op: 'BETWEEN', values: [value(c.low), value(c.high)] });
        return;
      }
      case 'begins_with': {
        const a = attrOf(c.left);
        if (!a) {
          throw validation(
            'Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand',
          );
        }
        if (attrOf(c.right)) {
          throw validation(
            'Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition',
          );
        }
        add(a, { op: 'BEGINS_WITH', values: [value(c.right)] });
        return;
      }
    }
  };
  walk(c);
  return out;
}

/** Legacy KeyConditions arrive already split by attribute. */
function legacyKeyConditions(raw: unknown): Map<string, KeyCondition> {
  const out = new Map<string, KeyCondition>();
  for (const [name, c] of Object.entries(
    raw as Record<string, { ComparisonOperator: string; AttributeValueList?: unknown[] }>,
  )) {
    // Reuse the legacy operator checks (arity, types) by translating and discarding.
    conditionsToAst({ [name]: c });
    const op = c.ComparisonOperator;
    if (['NULL', 'NOT_NULL', 'NE', 'CONTAINS', 'NOT_CONTAINS', 'IN'].includes(op)) {
      throw validation('Attempted conditional constraint is not an indexable operation');
    }
    out.set(name, {
      op: op as KeyOp,
      values: (c.AttributeValueList ?? []).map((v) => checkItem({ v }).v!),
    });
  }
  return out;
}

/** The smallest byte string greater than every string starting with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer | undefined {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]!++;
      return b.subarray(0, i + 1);
    }
  }
  return undefined;
}

export const query: Action = async (ctx, req) => {
  checkRequest(req, schema);
  // DynamoDB lets the legacy KeyConditions go with FilterExpression and
  // ProjectionExpression (its error for QueryFilter + ProjectionExpression next to
  // KeyConditions names only {QueryFilter}); only KeyConditionExpression excludes it.
  checkExpressionParams(
    req,
    ['ProjectionExpression', 'FilterExpression', 'KeyConditionExpression'],
    [
      'AttributesToGet',
      'QueryFilter',
      'ConditionalOperator',
      ...(req.KeyConditionExpression == null ? [] : ['KeyConditions']),
    ],
  );
  const legacyPaths = attributesToGetToPaths(req.AttributesToGet);
  const legacyFilter = conditionsToAst(req.QueryFilter, req.ConditionalOperator);
  const startKey = req.ExclusiveStartKey == null ? undefined : checkItem(req.ExclusiveStartKey);
  if (req.KeyConditions == null && req.KeyConditionExpression == null) {
    throw validation(
      'Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.',
    );
  }
  const parsed = parseExpressions(req);
  const keyConds = parsed.keyCondition
    ? keyConditionsOf(parsed.keyCondition)
    : legacyKeyConditions(req.KeyConditions);
  if (keyConds.size < 1 || keyConds.size > 8) {
    throw validation('Conditions can be of length 1 or 2 only');
  }
  const projection = parsed.projection ?? legacyPaths;
  const countOnly = checkSelect(
    req.Select,
    projection !== undefined,
    legacyPaths !== undefined,
    req.IndexName,
  );
  const meta = await requireTable(ctx, req.TableName as string);
  const index = requireIndex(meta, req);
  const filter = parsed.filter ?? legacyFilter;
  const fromTable = fetchesFromTable(meta, index, req.Select, projection, filter);
  const keySchema = index?.schema ?? meta.schema;
  const { hash, range } = keySchema;
  const multi = keySchema.hashes !== undefined || keySchema.ranges !== undefined;
  if (!multi && keyConds.size > 2) throw validation('Conditions can be of length 1 or 2 only');
  const hashes = hashDefs(keySchema);
  const ranges = rangeDefs(keySchema);
  for (const d of hashes) {
    if (!keyConds.has(d.name)) {
      throw validation(`Query condition missed key schema element: ${d.name}`);
    }
  }
  for (const name of keyConds.keys()) {
    if (!hashes.some((d) => d.name === name) && !ranges.some((d) => d.name === name)) {
      throw validation(
        range
          ? `Query condition missed key schema element: ${range.name}`
          : 'Query key condition not supported',
      );
    }
  }
  for (const d of keyDefs(keySchema)) {
    const c = keyConds.get(d.name);
    if (c?.op === 'BEGINS_WITH' && d.type === 'N') {
      throw validation(
        'Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N',
      );
    }
    if (c?.values.some((v) => typeOf(v) !== d.type)) {
      throw validation(
        'One or more parameter values were invalid: Condition parameter type does not match schema type',
      );
    }
  }
  if (hashes.some((d) => keyConds.get(d.name)!.op !== 'EQ')) {
    throw validation('Query key condition not supported');
  }
  const hashValues = hashes.map((d) => keyConds.get(d.name)!.values[0]!);
  if (parsed.filter) {
    const heads = pathHeads(parsed.filter);
    const key = keyDefs(keySchema).find((d) => heads.has(d.name));
    if (key) {
      throw validation(
        `Filter Expression can only contain non-primary key attributes: Primary key attribute: ${key.name}`,
      );
    }
  }
  if (req.QueryFilter != null) {
    const names = Object.keys(req.QueryFilter as Record<string, unknown>);
    const key = keyDefs(keySchema).find((d) => names.includes(d.name));
    if (key) {
      throw validation(
        `QueryFilter can only contain non-primary key attributes: Primary key attribute: ${key.name}`,
      );
    }
  }

  // Sort attributes are constrained left to right: equality on a prefix, then
  // at most one condition of any kind on the next.
  const held = ranges.filter((d) => keyConds.has(d.name));
  const constrained = ranges.slice(0, held.length);
  const gap = constrained.find((d) => !keyConds.has(d.name));
  if (gap) throw validation(`Query condition missed key schema element: ${gap.name}`);
  if (constrained.slice(0, -1).some((d) => keyConds.get(d.name)!.op !== 'EQ')) {
    throw validation('Query key condition not supported');
  }
  const prefix = Buffer.concat(
    constrained.slice(0, -1).map((d) => keyPart(d, keyConds.get(d.name)!.values[0]!)),
  );
  const last = constrained.at(-1);

  let lower: Bound | undefined;
  let upper: Bound | undefined;
  const rangeCond = last && keyConds.get(last.name);
  if (last && rangeCond) {
    const b = (v: AttributeValue) => keyBytes(last.type, v);
    const [v0, v1] = rangeCond.values;
    switch (rangeCond.op) {
      case 'EQ':
        lower = { bytes: b(v0!), inclusive: true };
        upper = { bytes: b(v0!), inclusive: true };
        break;
      case 'LT':
      case 'LE':
        upper = { bytes: b(v0!), inclusive: rangeCond.op === 'LE' };
        break;
      case 'GT':
      case 'GE':
        lower = { bytes: b(v0!), inclusive: rangeCond.op === 'GE' };
        break;
      case 'BETWEEN':
        if (compareScalar(v0!, v1!) > 0) {
          throw validation(
            'Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound',
          );
        }
        lower = { bytes: b(v0!), inclusive: true };
        upper = { bytes: b(v1!), inclusive: true };
        break;
      case 'BEGINS_WITH': {
        const p = b(v0!);
        lower = { bytes: p, inclusive: true };
        const end = prefixEnd(p);
        if (end) upper = { bytes: end, inclusive: false };
        break;
      }
    }
  }

  if (index) {
    lower = lower && indexBound(lower, true, prefix);
    upper = upper && indexBound(upper, false, prefix);
    if (prefix.length > 0) {
      const around = prefixBounds(prefix);
      lower ??= around.lower;
      upper ??= around.upper;
    }
  }
  const rowKey = (item: Item) =>
    index ? indexKey(meta.schema, index, item)! : storageKey(meta.schema, item);

  const forward = req.ScanIndexForward !== false;
  if (startKey) checkStartKey(meta, index, startKey);
  const hashBytes = index ? indexHash(keySchema, hashValues) : keyBytes(hash.type, hashValues[0]!);
  if (startKey && !rowKey(startKey).hash.equals(hashBytes)) {
    throw validation(
      'The provided starting key is outside query boundaries based on provided conditions',
    );
  }
  const tighten = (bound: Bound | undefined, after: Buffer, isLower: boolean): Bound => {
    if (!bound) return { bytes: after, inclusive: false };
    const c = Buffer.compare(after, bound.bytes);
    return (isLower ? c >= 0 : c <= 0) ? { bytes: after, inclusive: false } : bound;
  };

  // With fetches from the table, page.bytes are the table's; the index rows are counted here.
  let indexBytes = 0;
  const pageCache = req.ConsistentRead === true ? undefined : ctx.cache?.cache;
  const cached = pageCache?.page(meta, 'Query', req);
  if (cached) {
    // A page from the cache never reaches the table: it consumes nothing.
    const cc = readCapacity(ctx, req, meta.name, index, 0, 0);
    return cc ? { ...cached, ConsumedCapacity: cc } : { ...cached };
  }
  const pageToken = pageCache?.token(meta);
  await ctx.capacity?.admit(meta, 'read', readUnits(0, req.ConsistentRead === true), index);
  const page = await readPage({
    schema: meta.schema,
    limit: req.Limit as number | undefined,
    filter,
    projection,
    present: presentFetched(meta, index, fromTable, req.Select),
    countOnly,
    keyOf: index && ((item) => indexKeyOf(meta.schema, index, item)),
    fetch: async (afterItem: Item | undefined, limit: number) => {
      const from = afterItem ?? startKey;
      let lo = lower;
      let hi = upper;
      // Index rows are unique by their composite range, even for a hash-only index.
      if (from && (range || index)) {
        const after = rowKey(from).range;
        if (forward) lo = tighten(lo, after, true);
        else hi = tighten(hi, after, false);
      } else if (from) {
        return [];
      }
      const rows = await ctx.engine.query(index ? indexTable(meta, index) : meta, {
        hash: hashBytes,
        lower: lo,
        upper: hi,
        forward,
        limit,
      });
      if (!fromTable) return rows;
      for (const r of rows) indexBytes += itemSize(r);
      return tableItems(ctx, meta, rows);
    },
  });
  const out = pageResponse(page, countOnly);
  if (pageToken !== undefined) pageCache!.fillPage(meta, 'Query', req, { ...out }, pageToken);
  const consistent = req.ConsistentRead === true;
  const units = readUnits(page.bytes, consistent);
  const cc = fromTable
    ? readCapacity(ctx, req, meta.name, index, readUnits(indexBytes, consistent), units)
    : readCapacity(ctx, req, meta.name, index, units, index ? 0 : units);
  if (cc) out.ConsumedCapacity = cc;
  return out;
};
