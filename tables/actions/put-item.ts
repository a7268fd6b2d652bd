// PutItem: replaces the whole item. Unconditional puts that return nothing are a
// blind write; anything that needs the old item goes through the engine's
// read-modify-write so the check and the write are one linearizable step.
import { validation } from '../errors.ts';
import { checkExpressionParams, parseExpressions } from '../expressions/request.ts';
import { expectedToAst } from '../legacy.ts';
import { checkRequest, type Schema } from '../validate.ts';
import { checkItem, checkItemKey, itemSize, maxItemSize, type Item } from '../values.ts';
import { requireTable, storageKey, withFields, writeUnitsFor, type Action } from './context.ts';
import { writeCapacity } from './transact-capacity.ts';
import { checkCondition, checkReturnsOldOrNone, writeSchema } from './item-common.ts';
import { itemCollectionMetrics } from './item-collections.ts';
import { checkIndexKeys } from '../storage/indexes.ts';
import { checkReadModifyWrite } from '../storage/write-isolation.ts';

export const schema: Schema = {
  ...writeSchema,
  Item: { type: 'AttrMap', notNull: true },
};

export const putItem: Action = async (ctx, req) => {
  checkRequest(req, schema);
  checkExpressionParams(req, ['ConditionExpression'], ['Expected']);
  const item = checkItem(req.Item);
  checkReturnsOldOrNone(req);
  if (itemSize(item) > maxItemSize)
    throw validation('Item size has exceeded the maximum allowed size');
  const expectedCond = expectedToAst(req.Expected, req.ConditionalOperator);
  const cond = parseExpressions(req).condition ?? expectedCond;
  const meta = await requireTable(ctx, req.TableName as string);
  checkItemKey(meta.schema, item);
  checkIndexKeys(meta, item);
  const key = storageKey(meta.schema, item);
  const rmw = !!cond || req.ReturnValues === 'ALL_OLD';
  if (rmw) checkReadModifyWrite(meta, ctx.engine.writeIsolation);
  await ctx.capacity?.admit(meta, 'write', writeUnitsFor(item));
  ctx.cache?.writing(meta, key);
  let old: Item | undefined;
  if (rmw || ctx.engine.kind === 'sqlite') {
    // On sqlite reading the old item is nearly free and makes capacity exact.
    old = await ctx.engine.mutate(meta, key, (current) => {
      checkCondition(ctx, meta, req, cond, current);
      return { write: item, result: current };
    });
  } else {
    await ctx.engine.putItem(meta, key, item);
  }
  ctx.cache?.wrote(meta, key, item);
  return withFields(
    {},
    {
      Attributes: req.ReturnValues === 'ALL_OLD' ? old : undefined,
      ConsumedCapacity: writeCapacity(ctx, req.ReturnConsumedCapacity, meta, old, item),
      ItemCollectionMetrics: await itemCollectionMetrics(ctx, req, meta, item),
    },
  );
};
