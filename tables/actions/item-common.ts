// Pieces shared by the single-item writes (PutItem, UpdateItem, DeleteItem).
import { conditionFailed, validation } from '../errors.ts';
import type { Condition } from '../expressions/ast.ts';
import { evaluate } from '../expressions/evaluate.ts';
import type { TableMeta } from '../storage/engine.ts';
import {
  attrMap,
  conditionalOperator,
  expected,
  expression,
  returnConsumedCapacity,
  returnItemCollectionMetrics,
  stringMap,
  tableName,
  type Schema,
} from '../validate.ts';
import type { Item } from '../values.ts';
import type { ActionContext, Request } from './context.ts';

export const writeSchema: Schema = {
  TableName: tableName,
  Expected: expected,
  ConditionalOperator: conditionalOperator,
  ReturnConsumedCapacity: returnConsumedCapacity,
  ReturnItemCollectionMetrics: returnItemCollectionMetrics,
  ConditionExpression: expression,
  ExpressionAttributeNames: stringMap,
  ExpressionAttributeValues: attrMap,
  ReturnValuesOnConditionCheckFailure: { type: 'String', enum: ['ALL_OLD', 'NONE'] },
  ReturnValues: {
    type: 'String',
    enum: ['ALL_NEW', 'UPDATED_OLD', 'ALL_OLD', 'NONE', 'UPDATED_NEW'],
  },
};

/** PutItem and DeleteItem can only return the old item (or nothing). */
export function checkReturnsOldOrNone(req: Request): void {
  if (req.ReturnValues != null && req.ReturnValues !== 'ALL_OLD' && req.ReturnValues !== 'NONE') {
    throw validation('ReturnValues can only be ALL_OLD or NONE');
  }
}

/** Throws ConditionalCheckFailedException (with the item if asked) when `cond` fails. */
export function checkCondition(
  ctx: ActionContext,
  meta: TableMeta,
  req: Request,
  cond: Condition | undefined,
  current: Item | undefined,
): void {
  if (!cond || evaluate(cond, current ?? {})) return;
  ctx.observer?.conditionalCheckFailed(meta.name);
  throw conditionFailed(
    req.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' ? current : undefined,
  );
}
