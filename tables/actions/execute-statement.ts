// ExecuteStatement: one PartiQL statement, parsed and translated (tables/partiql/)
// into a request of the ordinary item, query or scan action, which runs it. The
// pieces a batch and a transaction share are exported from here.
import { createHash } from 'node:crypto';
import { DynamoError, validation } from '../errors.ts';
import { parseStatement, type Statement } from '../partiql/parser.ts';
import { tableOf, translate, unnest, type Plan, type Use } from '../partiql/translate.ts';
import type { TableMeta } from '../storage/engine.ts';
import { checkRequest, returnConsumedCapacity, type Field, type Schema } from '../validate.ts';
import { checkItem, checkValue, type Item } from '../values.ts';
import {
  requireTable,
  withFields,
  type Action,
  type ActionContext,
  type Response,
} from './context.ts';
import { deleteItem } from './delete-item.ts';
import { getItem } from './get-item.ts';
import { putItem } from './put-item.ts';
import { query } from './query.ts';
import { scan } from './scan.ts';
import { updateItem } from './update-item.ts';

export const statementField: Field = {
  type: 'String',
  notNull: true,
  minLength: 1,
  maxLength: 8192,
};
export const parametersField: Field = { type: 'List', minLength: 1, items: { type: 'Attr' } };
export const returnValuesOnConditionCheckFailure: Field = {
  type: 'String',
  enum: ['ALL_OLD', 'NONE'],
};

export const schema: Schema = {
  Statement: statementField,
  Parameters: parametersField,
  ConsistentRead: { type: 'Boolean' },
  NextToken: { type: 'String', minLength: 1, maxLength: 32768 },
  ReturnConsumedCapacity: returnConsumedCapacity,
  Limit: { type: 'Integer', min: 1 },
  ReturnValuesOnConditionCheckFailure: returnValuesOnConditionCheckFailure,
};

const paging = ['Limit', 'ExclusiveStartKey'];

const planActions: Record<Plan['action'], Action> = {
  GetItem: getItem,
  Query: query,
  Scan: scan,
  PutItem: putItem,
  UpdateItem: updateItem,
  DeleteItem: deleteItem,
};

/** The statement text with its Parameters, checked as attribute values. */
export function parseInput(statement: string, parameters: unknown): Statement {
  const params = ((parameters as unknown[] | undefined) ?? []).map((p) => checkValue(p));
  return parseStatement(statement, params);
}

export async function prepare(
  ctx: ActionContext,
  statement: Statement,
  use: Use,
): Promise<{ meta: TableMeta; plan: Plan }> {
  const meta = await requireTable(ctx, tableOf(statement));
  return { meta, plan: translate(statement, meta, use) };
}

/**
 * Runs a plan with the request-level parameters that apply to its action.
 * An INSERT whose key exists fails as DuplicateItemException.
 */
export async function runPlan(
  ctx: ActionContext,
  plan: Plan,
  extra: Record<string, unknown>,
): Promise<Response> {
  const reads = plan.action === 'GetItem' || plan.action === 'Query' || plan.action === 'Scan';
  const req: Record<string, unknown> = { ...plan.request };
  for (const [k, v] of Object.entries(extra)) {
    const applies = paging.includes(k)
      ? plan.action === 'Query' || plan.action === 'Scan'
      : k === 'ConsistentRead'
        ? reads
        : k === 'ReturnValuesOnConditionCheckFailure'
          ? !reads
          : true;
    if (v !== undefined && applies) req[k] = v;
  }
  try {
    return await planActions[plan.action](ctx, req);
  } catch (err) {
    if (
      plan.insert &&
      err instanceof DynamoError &&
      err.type === 'ConditionalCheckFailedException'
    ) {
      throw new DynamoError('DuplicateItemException', 'Duplicate primary key exists in table');
    }
    throw err;
  }
}

/** The items a statement answers with: SELECT's rows, or the RETURNING item of a write. */
export function itemsOf(plan: Plan, out: Response): Item[] {
  if (plan.action === 'Query' || plan.action === 'Scan') {
    const items = out.Items as Item[];
    return plan.projection ? items.map((i) => unnest(i, plan.projection!)) : items;
  }
  const one = (plan.action === 'GetItem' ? out.Item : out.Attributes) as Item | undefined;
  if (!one) return [];
  return plan.projection ? [unnest(one, plan.projection)] : [one];
}

// A NextToken carries the last key read, bound to the statement and parameters it
// came from so that it cannot resume another statement.
function fingerprint(req: Record<string, unknown>): string {
  return createHash('sha256')
    .update(JSON.stringify([req.Statement, req.Parameters ?? null]))
    .digest('base64url')
    .slice(0, 16);
}

function encodeToken(req: Record<string, unknown>, key: Item): string {
  return Buffer.from(JSON.stringify({ s: fingerprint(req), k: key })).toString('base64');
}

function decodeToken(req: Record<string, unknown>, token: string): Item {
  let parsed: { s?: unknown; k?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as typeof parsed;
    if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
  } catch {
    throw validation('Invalid NextToken');
  }
  if (parsed.s !== fingerprint(req)) throw validation('NextToken does not match request');
  try {
    return checkItem(parsed.k);
  } catch {
    throw validation('Invalid NextToken');
  }
}

export const executeStatement: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const statement = parseInput(req.Statement as string, req.Parameters);
  const { plan } = await prepare(ctx, statement, 'statement');
  const start =
    req.NextToken != null && statement.kind === 'select'
      ? decodeToken(req, req.NextToken as string)
      : undefined;
  const out = await runPlan(ctx, plan, {
    ConsistentRead: req.ConsistentRead,
    Limit: req.Limit,
    ExclusiveStartKey: start,
    ReturnConsumedCapacity: req.ReturnConsumedCapacity,
    ReturnValuesOnConditionCheckFailure: req.ReturnValuesOnConditionCheckFailure,
  });
  const last = out.LastEvaluatedKey as Item | undefined;
  return withFields(
    { Items: itemsOf(plan, out) },
    {
      NextToken: last && encodeToken(req, last),
      LastEvaluatedKey: last,
      ConsumedCapacity: out.ConsumedCapacity,
    },
  );
};
