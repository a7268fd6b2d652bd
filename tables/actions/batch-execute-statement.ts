// BatchExecuteStatement: up to 25 PartiQL statements, all reads (each a single
// item by its full key, a GetItem) or all writes (each as ExecuteStatement runs
// it). Not a transaction: every statement succeeds or fails on its own, and a
// failure is that statement's Error {Code, Message} in an HTTP 200 answer.
import { DynamoError, validation } from '../errors.ts';
import type { Statement } from '../partiql/parser.ts';
import { checkRequest, returnConsumedCapacity, type Schema } from '../validate.ts';
import type { Item } from '../values.ts';
import type { Action, ActionContext } from './context.ts';
import {
  itemsOf,
  parametersField,
  parseInput,
  prepare,
  returnValuesOnConditionCheckFailure,
  runPlan,
  statementField,
} from './execute-statement.ts';

export const schema: Schema = {
  Statements: {
    type: 'List',
    notNull: true,
    minLength: 1,
    maxLength: 25,
    items: {
      type: 'Struct',
      fields: {
        Statement: statementField,
        Parameters: parametersField,
        ConsistentRead: { type: 'Boolean' },
        ReturnValuesOnConditionCheckFailure: returnValuesOnConditionCheckFailure,
      },
    },
  },
  ReturnConsumedCapacity: returnConsumedCapacity,
};

/** BatchStatementError codes: the error type without its "Exception" word. */
const errorCodes: Record<string, string> = {
  ConditionalCheckFailedException: 'ConditionalCheckFailed',
  DuplicateItemException: 'DuplicateItem',
  ValidationException: 'ValidationError',
  ResourceNotFoundException: 'ResourceNotFound',
  ItemCollectionSizeLimitExceededException: 'ItemCollectionSizeLimitExceeded',
  ProvisionedThroughputExceededException: 'ProvisionedThroughputExceeded',
  TransactionConflictException: 'TransactionConflict',
  RequestLimitExceeded: 'RequestLimitExceeded',
  ThrottlingException: 'ThrottlingError',
  AccessDeniedException: 'AccessDenied',
};

export function batchError(err: DynamoError): Record<string, unknown> {
  const e: Record<string, unknown> = {
    Code: errorCodes[err.type] ?? 'InternalServerError',
    Message: err.message,
  };
  if (err.extra.Item) e.Item = err.extra.Item;
  return e;
}

interface Capacity {
  TableName: string;
  CapacityUnits: number;
  Table?: { CapacityUnits: number };
}

/** Sums the capacity each statement's action reported into one entry per table. */
export function addCapacity(totals: Map<string, Capacity>, c: unknown): void {
  if (!c) return;
  const cc = c as Capacity;
  const t = totals.get(cc.TableName);
  if (!t) {
    totals.set(cc.TableName, { ...cc, ...(cc.Table && { Table: { ...cc.Table } }) });
    return;
  }
  t.CapacityUnits += cc.CapacityUnits;
  if (t.Table && cc.Table) t.Table.CapacityUnits += cc.Table.CapacityUnits;
}

async function runOne(
  ctx: ActionContext,
  statement: Statement,
  entry: Record<string, unknown>,
  returnConsumedCapacity: unknown,
  totals: Map<string, Capacity>,
): Promise<Record<string, unknown>> {
  let table: string | undefined;
  try {
    const { meta, plan } = await prepare(ctx, statement, 'batch');
    table = meta.name;
    const out = await runPlan(ctx, plan, {
      ConsistentRead: entry.ConsistentRead,
      ReturnConsumedCapacity: returnConsumedCapacity,
      ReturnValuesOnConditionCheckFailure: entry.ReturnValuesOnConditionCheckFailure,
    });
    addCapacity(totals, out.ConsumedCapacity);
    const [item] = itemsOf(plan, out) as (Item | undefined)[];
    return statement.kind === 'select' && item
      ? { TableName: table, Item: item }
      : { TableName: table };
  } catch (err) {
    if (!(err instanceof DynamoError)) throw err;
    return { ...(table && { TableName: table }), Error: batchError(err) };
  }
}

export const batchExecuteStatement: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const entries = req.Statements as Record<string, unknown>[];
  const parsed = entries.map((e): Statement | DynamoError => {
    try {
      return parseInput(e.Statement as string, e.Parameters);
    } catch (err) {
      if (err instanceof DynamoError) return err;
      throw err;
    }
  });
  const kinds = new Set(
    parsed
      .filter((p) => !(p instanceof DynamoError))
      .map((p) => (p as Statement).kind === 'select'),
  );
  if (kinds.size > 1) {
    throw validation('Read and write requests together in the same batch is not supported.');
  }
  const totals = new Map<string, Capacity>();
  const responses: Record<string, unknown>[] = [];
  for (const [i, p] of parsed.entries()) {
    responses.push(
      p instanceof DynamoError
        ? { Error: batchError(p) }
        : await runOne(ctx, p, entries[i]!, req.ReturnConsumedCapacity, totals),
    );
  }
  const out: Record<string, unknown> = { Responses: responses };
  if (totals.size) out.ConsumedCapacity = [...totals.values()];
  return out;
};
