// DeleteItem: a blind delete unless a condition or ReturnValues needs the old item.
import { checkExpressionParams, parseExpressions } from '../expressions/request.ts';
import { expectedToAst } from '../legacy.ts';
import { checkRequest, type Schema } from '../validate.ts';
import { checkItem, checkKey, type Item } from '../values.ts';
import { requireTable, storageKey, withFields, type Action } from './context.ts';
import { writeCapacity } from './transact-capacity.ts';
import { checkCondition, checkReturnsOldOrNone, writeSchema } from './item-common.ts';
import { itemCollectionMetrics } from './item-collections.ts';
import { checkReadModifyWrite } from '../storage/write-isolation.ts';

export const schema: Schema = {
  ...writeSchema,
  Key: { type: 'AttrMap', notNull: true },
};

export const deleteItem: Action = async (ctx, req) => {
  checkRequest(req, schema);
  checkExpressionParams(req, ['ConditionExpression'], ['Expected']);
  const key = checkItem(req.Key);
  checkReturnsOldOrNone(req);
  const expectedCond = expectedToAst(req.Expected, req.ConditionalOperator);
  const cond = parseExpressions(req).condition ?? expectedCond;
  const meta = await requireTable(ctx, req.TableName as string);
  checkKey(meta.schema, key);
  const sk = storageKey(meta.schema, key);
  const rmw = !!cond || req.ReturnValues === 'ALL_OLD';
  if (rmw) checkReadModifyWrite(meta, ctx.engine.writeIsolation);
  await ctx.capacity?.admit(meta, 'write', 1);
  ctx.cache?.writing(meta, sk);
  let old: Item | undefined;
  if (rmw || ctx.engine.kind === 'sqlite') {
    old = await ctx.engine.mutate(meta, sk, (current) => {
      checkCondition(ctx, meta, req, cond, current);
      return { write: current ? null : undefined, result: current };
    });
  } else {
    await ctx.engine.deleteItem(meta, sk);
  }
  ctx.cache?.wrote(meta, sk, null);
  return withFields(
    {},
    {
      Attributes: req.ReturnValues === 'ALL_OLD' ? old : undefined,
      ConsumedCapacity: writeCapacity(
        ctx,
        req.ReturnConsumedCapacity,
        meta,
        old,
        old ? null : undefined,
      ),
      ItemCollectionMetrics: await itemCollectionMetrics(ctx, req, meta, key),
    },
  );
};
