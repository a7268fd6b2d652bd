// ExecuteTransaction: up to 100 PartiQL statements run as one transaction, all
// reads (each a single item by its full key) or all writes (INSERT, UPDATE,
// DELETE and EXISTS(SELECT …) as a condition check). The statements become the
// parsed actions of TransactGetItems and TransactWriteItems, whose transaction
// mechanism runs them: the same isolation, idempotency and cancellation reasons.
import { DynamoError, validation } from '../errors.ts';
import type { SelectStatement, Statement } from '../partiql/parser.ts';
import { getOf, tableOf, unnest, writeOf } from '../partiql/translate.ts';
import { requestFingerprint } from '../storage/transactions.ts';
import { checkRequest, returnConsumedCapacity, type Schema } from '../validate.ts';
import type { Item } from '../values.ts';
import { requireTable, type Action, type ActionContext } from './context.ts';
import {
  parametersField,
  parseInput,
  returnValuesOnConditionCheckFailure,
  statementField,
} from './execute-statement.ts';
import { runTransactGet, type GetAction } from './transact-get-items.ts';
import { runTransactWrite, type WriteAction } from './transact-write-items.ts';

export const schema: Schema = {
  TransactStatements: {
    type: 'List',
    notNull: true,
    minLength: 1,
    maxLength: 100,
    items: {
      type: 'Struct',
      fields: {
        Statement: statementField,
        Parameters: parametersField,
        ReturnValuesOnConditionCheckFailure: returnValuesOnConditionCheckFailure,
      },
    },
  },
  ClientRequestToken: { type: 'String', minLength: 1, maxLength: 36 },
  ReturnConsumedCapacity: returnConsumedCapacity,
};

/** A statement's own ValidationException names its place in the request. */
function atStatement<T>(i: number, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof DynamoError && err.type === 'ValidationException') {
      throw validation(`Validation failed in TransactStatements[${i}]: ${err.message}`);
    }
    throw err;
  }
}

async function reads(
  ctx: ActionContext,
  statements: SelectStatement[],
  returnConsumedCapacity: unknown,
): Promise<Record<string, unknown>> {
  const gets: GetAction[] = [];
  const projections: ((i: Item) => Item)[] = [];
  for (const [i, s] of statements.entries()) {
    const meta = await requireTable(
      ctx,
      atStatement(i, () => tableOf(s)),
    );
    const { key, projection } = atStatement(i, () => getOf(s, meta));
    gets.push({ tableName: meta.name, key, projection });
    projections.push((item) => (s.projection ? unnest(item, s.projection) : item));
  }
  const out = await runTransactGet(ctx, gets, { returnConsumedCapacity });
  const responses = out.Responses as { Item?: Item }[];
  out.Responses = responses.map((r, i) => (r.Item ? { Item: projections[i]!(r.Item) } : {}));
  return out;
}

async function writes(
  ctx: ActionContext,
  statements: Exclude<Statement, SelectStatement>[],
  entries: Record<string, unknown>[],
  opts: Parameters<typeof runTransactWrite>[2],
): Promise<Record<string, unknown>> {
  const actions: WriteAction[] = [];
  for (const [i, s] of statements.entries()) {
    const meta = await requireTable(
      ctx,
      atStatement(i, () => tableOf(s)),
    );
    const write = atStatement(i, () => {
      const w = writeOf(s, meta);
      if (w.returning) throw validation('RETURNING is not supported in transactions');
      return w;
    });
    actions.push({
      kind: write.kind,
      tableName: meta.name,
      item: write.item,
      update: write.update,
      condition: write.condition,
      returnOldOnFailure: entries[i]!.ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
    });
  }
  return runTransactWrite(ctx, actions, opts);
}

export const executeTransaction: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const entries = req.TransactStatements as Record<string, unknown>[];
  const statements = entries.map((e, i) =>
    atStatement(i, () => parseInput(e.Statement as string, e.Parameters)),
  );
  const selects = statements.filter((s): s is SelectStatement => s.kind === 'select');
  const others = statements.filter((s) => s.kind !== 'select');
  if (selects.length && others.length) {
    throw validation(
      'ExecuteTransaction API does not support both read and write operations in the same request.',
    );
  }
  if (selects.length) return reads(ctx, selects, req.ReturnConsumedCapacity);
  const token = req.ClientRequestToken as string | undefined;
  return writes(ctx, others, entries, {
    token: token === undefined ? undefined : { id: token, fingerprint: requestFingerprint(req) },
    returnConsumedCapacity: req.ReturnConsumedCapacity,
  });
};
