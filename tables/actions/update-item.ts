// UpdateItem: always a read-modify-write through the engine, so concurrent updates
// of one item (counters, list appends) never lose each other's changes.
import { validation } from '../errors.ts';
import type { UpdateExpression } from '../expressions/ast.ts';
import { applyUpdate, updatedPaths } from '../expressions/evaluate.ts';
import { checkExpressionParams, parseExpressions } from '../expressions/request.ts';
import { attributeUpdatesToAst, expectedToAst } from '../legacy.ts';
import { checkRequest, expression, type Schema } from '../validate.ts';
import { checkItem, checkKey, itemSize, maxItemSize, valuesEqual, type Item } from '../values.ts';
import {
  requireTable,
  returnedAttributes,
  storageKey,
  withFields,
  type Action,
} from './context.ts';
import { writeCapacity } from './transact-capacity.ts';
import { checkCondition, writeSchema } from './item-common.ts';
import { itemCollectionMetrics } from './item-collections.ts';
import { checkIndexKeys } from '../storage/indexes.ts';
import { checkReadModifyWrite } from '../storage/write-isolation.ts';

export const schema: Schema = {
  ...writeSchema,
  Key: { type: 'AttrMap', notNull: true },
  AttributeUpdates: {
    type: 'Map',
    items: {
      type: 'Struct',
      fields: {
        Action: { type: 'String', enum: ['ADD', 'PUT', 'DELETE'] },
        Value: { type: 'Attr' },
      },
    },
  },
  UpdateExpression: expression,
};

export const updateItem: Action = async (ctx, req) => {
  checkRequest(req, schema);
  checkExpressionParams(
    req,
    ['UpdateExpression', 'ConditionExpression'],
    ['AttributeUpdates', 'Expected'],
  );
  const key = checkItem(req.Key);
  const legacyUpdate = attributeUpdatesToAst(req.AttributeUpdates);
  const expectedCond = expectedToAst(req.Expected, req.ConditionalOperator);
  const parsed = parseExpressions(req);
  const update = parsed.update ?? legacyUpdate;
  const cond = parsed.condition ?? expectedCond;
  const meta = await requireTable(ctx, req.TableName as string);
  checkKey(meta.schema, key);
  const keyNames = [meta.schema.hash.name, meta.schema.range?.name].filter(Boolean) as string[];
  for (const p of update ? updatedPaths(update) : []) {
    const top = p.elems[0] as string;
    if (keyNames.includes(top)) {
      throw validation(`Cannot update attribute ${top}. This attribute is part of the key`);
    }
  }
  // Every UpdateItem reads the item it changes (items are stored whole).
  checkReadModifyWrite(meta, ctx.engine.writeIsolation);
  await ctx.capacity?.admit(meta, 'write', 1);
  const sk = storageKey(meta.schema, key);
  ctx.cache?.writing(meta, sk);
  const { old, next } = await ctx.engine.mutate<{ old?: Item; next?: Item }>(
    meta,
    sk,
    (current) => {
      checkCondition(ctx, meta, req, cond, current);
      // DynamoDB does not create a missing item for an update that only removes:
      // there would be nothing in it but its key.
      if (!current && update && onlyRemoves(update)) {
        return { result: { old: current, next: undefined } };
      }
      const base: Item = { ...(current ?? {}), ...key };
      const next = update ? applyUpdate(update, base, { legacy: !parsed.update }) : base;
      for (const k of keyNames) {
        if (!valuesEqual(next[k]!, key[k]!)) {
          throw validation(`Cannot update attribute ${k}. This attribute is part of the key`);
        }
      }
      if (itemSize(next) > maxItemSize) {
        throw validation('Item size to update has exceeded the maximum allowed size');
      }
      checkIndexKeys(meta, next, current);
      return { write: next, result: { old: current, next } };
    },
  );
  ctx.cache?.wrote(meta, sk, next ?? null);
  return withFields(
    {},
    {
      Attributes: returnedAttributes(
        req.ReturnValues,
        old,
        next,
        update ? updatedPaths(update) : [],
      ),
      ConsumedCapacity: writeCapacity(ctx, req.ReturnConsumedCapacity, meta, old, next),
      ItemCollectionMetrics: await itemCollectionMetrics(ctx, req, meta, key),
    },
  );
};

function onlyRemoves(u: UpdateExpression): boolean {
  return u.set.length === 0 && u.add.length === 0 && u.remove.length + u.delete.length > 0;
}
