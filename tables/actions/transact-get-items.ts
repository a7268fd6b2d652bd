// TransactGetItems: up to 100 items of any tables, read as of one instant (the
// engine's transactGet: no transaction's writes are seen in part). The shape and
// the projections are checked first (ValidationException), then the tables
// (ResourceNotFoundException); a Key that does not match its table's schema is a
// ValidationError cancellation reason, as DynamoDB answers it. Each item costs 2
// read units per 4 KB, a missing one too.
//
// runTransactGet is the part after parsing, shared with PartiQL's ExecuteTransaction.
import { DynamoError, validation } from '../errors.ts';
import type { PathNode } from '../expressions/ast.ts';
import { project } from '../expressions/evaluate.ts';
import { checkExpressionParams, parseExpressions } from '../expressions/request.ts';
import type { TableMeta } from '../storage/engine.ts';
import {
  itemId,
  noReason,
  transactionCanceled,
  type CancellationReason,
} from '../storage/transactions.ts';
import {
  checkRequest,
  expression,
  returnConsumedCapacity,
  stringMap,
  tableName,
  type Schema,
} from '../validate.ts';
import { checkItem, checkKey, type Item } from '../values.ts';
import { requireTable, storageKey, type Action, type ActionContext } from './context.ts';
import { CapacityTally } from './transact-capacity.ts';

export const schema: Schema = {
  TransactItems: {
    type: 'List',
    notNull: true,
    minLength: 1,
    maxLength: 100,
    items: {
      type: 'Struct',
      shape: 'TransactGetItem',
      fields: {
        Get: {
          type: 'Struct',
          shape: 'Get',
          notNull: true,
          fields: {
            Key: { type: 'AttrMap', notNull: true },
            TableName: tableName,
            ProjectionExpression: expression,
            ExpressionAttributeNames: stringMap,
          },
        },
      },
    },
  },
  ReturnConsumedCapacity: returnConsumedCapacity,
};

/** One parsed Get, as TransactGetItems and PartiQL's ExecuteTransaction give them. */
export interface GetAction {
  tableName: string;
  key: Item;
  projection?: PathNode[];
}

export const transactGetItems: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const gets = (req.TransactItems as { Get: Record<string, unknown> }[]).map(({ Get: g }) => {
    checkExpressionParams(g, ['ProjectionExpression'], []);
    return {
      tableName: g.TableName as string,
      key: checkItem(g.Key),
      projection: parseExpressions(g).projection,
    };
  });
  return runTransactGet(ctx, gets, { returnConsumedCapacity: req.ReturnConsumedCapacity });
};

/**
 * Reads parsed Gets as one snapshot: `{ Responses: [{ Item } | {}], ConsumedCapacity? }`,
 * in request order.
 */
export async function runTransactGet(
  ctx: ActionContext,
  gets: GetAction[],
  opts: { returnConsumedCapacity?: unknown } = {},
): Promise<Record<string, unknown>> {
  const metas = new Map<string, TableMeta>();
  for (const g of gets) {
    if (!metas.has(g.tableName)) metas.set(g.tableName, await requireTable(ctx, g.tableName));
  }
  const reasons: CancellationReason[] = gets.map(() => noReason);
  gets.forEach((g, i) => {
    try {
      checkKey(metas.get(g.tableName)!.schema, g.key);
    } catch (err) {
      if (!(err instanceof DynamoError) || err.type !== 'ValidationException') throw err;
      // An empty key value is refused for the whole request; a key of another
      // shape or type is the reason of that item.
      if (err.message.startsWith('One or more parameter values are not valid.')) throw err;
      reasons[i] = { Code: 'ValidationError', Message: err.message };
    }
  });
  const seen = new Set<string>();
  gets.forEach((g, i) => {
    if (reasons[i] !== noReason) return;
    const meta = metas.get(g.tableName)!;
    const k = storageKey(meta.schema, g.key);
    const id = itemId(meta.id, k.hash, k.range);
    if (seen.has(id)) {
      throw validation('Transaction request cannot include multiple operations on one item');
    }
    seen.add(id);
  });
  if (reasons.some((r) => r !== noReason)) throw transactionCanceled(reasons);

  const estimates = new Map<TableMeta, number>();
  for (const g of gets) {
    const meta = metas.get(g.tableName)!;
    estimates.set(meta, (estimates.get(meta) ?? 0) + 2);
  }
  for (const [meta, units] of estimates) await ctx.capacity?.admit(meta, 'read', units);
  const found = await ctx.engine.transactGet(
    gets.map((g) => {
      const meta = metas.get(g.tableName)!;
      return { meta, key: storageKey(meta.schema, g.key) };
    }),
  );
  const tally = new CapacityTally();
  const responses = found.map((item, i) => {
    const g = gets[i]!;
    tally.read(metas.get(g.tableName)!, 2, item);
    return item ? { Item: g.projection ? project(item, g.projection) : item } : {};
  });
  return { Responses: responses, ...tally.response(ctx, opts.returnConsumedCapacity) };
}
