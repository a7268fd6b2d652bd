// GetItem. Every read is served from the primary copy, so ConsistentRead only
// changes the capacity charged.
import { checkExpressionParams, parseExpressions } from '../expressions/request.ts';
import { project } from '../expressions/evaluate.ts';
import { attributesToGetToPaths } from '../legacy.ts';
import {
  attributesToGet,
  checkRequest,
  expression,
  returnConsumedCapacity,
  stringMap,
  tableName,
  type Schema,
} from '../validate.ts';
import { checkItem, checkKey, itemSize } from '../values.ts';
import {
  consumedCapacity,
  readUnits,
  requireTable,
  storageKey,
  withFields,
  type Action,
} from './context.ts';

export const schema: Schema = {
  TableName: tableName,
  Key: { type: 'AttrMap', notNull: true },
  AttributesToGet: attributesToGet,
  ConsistentRead: { type: 'Boolean' },
  ReturnConsumedCapacity: returnConsumedCapacity,
  ProjectionExpression: expression,
  ExpressionAttributeNames: stringMap,
};

export const getItem: Action = async (ctx, req) => {
  checkRequest(req, schema);
  checkExpressionParams(req, ['ProjectionExpression'], ['AttributesToGet']);
  const key = checkItem(req.Key);
  const legacyPaths = attributesToGetToPaths(req.AttributesToGet);
  const paths = parseExpressions(req).projection ?? legacyPaths;
  const meta = await requireTable(ctx, req.TableName as string);
  checkKey(meta.schema, key);
  const sk = storageKey(meta.schema, key);
  const consistent = req.ConsistentRead === true;
  const cache = consistent ? undefined : ctx.cache?.cache;
  // A cache hit never reaches the table, so it consumes none of its capacity.
  const hit = cache?.item(meta, sk);
  let item = hit?.item;
  if (!hit) {
    await ctx.capacity?.admit(meta, 'read', readUnits(0, consistent));
    const token = cache?.token(meta);
    item = await ctx.engine.getItem(meta, sk);
    if (token !== undefined) cache!.fillItem(meta, sk, item, token);
  }
  const units = hit ? 0 : readUnits(item ? itemSize(item) : 0, consistent);
  return withFields(
    {},
    {
      Item: item && (paths ? project(item, paths) : item),
      ConsumedCapacity: consumedCapacity(ctx, req, meta.name, 'read', units),
    },
  );
};
