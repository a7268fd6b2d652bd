// TransactWriteItems: up to 100 Put, Update, Delete and ConditionCheck actions on
// distinct items of any tables, all applied or none. The request is checked as
// DynamoDB checks it: shape and expressions first (ValidationException), tables
// (ResourceNotFoundException), one action per item, 4 MB; key values of the wrong
// type are a ValidationError cancellation reason, empty ones a ValidationException.
// Then the engine reads every item as of one instant, `decide` evaluates every
// condition and update against it, and either all writes happen or the request
// fails with TransactionCanceledException and one reason per action, in order.
//
// runTransactWrite is the part after parsing, shared with PartiQL's
// ExecuteTransaction: it takes already-parsed actions.
import { DynamoError, validation } from '../errors.ts';
import type { Condition, UpdateExpression } from '../expressions/ast.ts';
import { applyUpdate, evaluate, updatedPaths } from '../expressions/evaluate.ts';
import { checkExpressionParams, parseExpressions } from '../expressions/request.ts';
import type { TableMeta, TransactItem } from '../storage/engine.ts';
import { checkIndexKeys } from '../storage/indexes.ts';
import {
  itemId,
  noReason,
  requestFingerprint,
  transactionCanceled,
  type CancellationReason,
} from '../storage/transactions.ts';
import {
  checkRequest,
  expression,
  returnConsumedCapacity,
  returnItemCollectionMetrics,
  stringMap,
  tableName,
  type Field,
  type Schema,
} from '../validate.ts';
import {
  checkItem,
  checkItemKey,
  checkKey,
  itemSize,
  keyOf,
  maxItemSize,
  valuesEqual,
  type Item,
} from '../values.ts';
import {
  requireTable,
  storageKey,
  writeUnitsFor,
  type Action,
  type ActionContext,
  type Request,
} from './context.ts';
import { CapacityTally } from './transact-capacity.ts';
import { itemCollectionMetrics } from './item-collections.ts';
import { checkReadModifyWrite } from '../storage/write-isolation.ts';

const returnOnFailure: Field = { type: 'String', enum: ['ALL_OLD', 'NONE'] };
const common: Record<string, Field> = {
  TableName: tableName,
  ConditionExpression: expression,
  ExpressionAttributeNames: stringMap,
  ExpressionAttributeValues: { type: 'AttrMap' },
  ReturnValuesOnConditionCheckFailure: returnOnFailure,
};

export const schema: Schema = {
  TransactItems: {
    type: 'List',
    notNull: true,
    minLength: 1,
    maxLength: 100,
    items: {
      type: 'Struct',
      shape: 'TransactWriteItem',
      fields: {
        ConditionCheck: {
          type: 'Struct',
          shape: 'ConditionCheck',
          fields: {
            Key: { type: 'AttrMap', notNull: true },
            ...common,
            ConditionExpression: { type: 'String', notNull: true },
          },
        },
        Put: {
          type: 'Struct',
          shape: 'Put',
          fields: { Item: { type: 'AttrMap', notNull: true }, ...common },
        },
        Delete: {
          type: 'Struct',
          shape: 'Delete',
          fields: { Key: { type: 'AttrMap', notNull: true }, ...common },
        },
        Update: {
          type: 'Struct',
          shape: 'Update',
          fields: {
            Key: { type: 'AttrMap', notNull: true },
            UpdateExpression: { type: 'String', notNull: true },
            ...common,
          },
        },
      },
    },
  },
  ClientRequestToken: { type: 'String', minLength: 1, maxLength: 36 },
  ReturnConsumedCapacity: returnConsumedCapacity,
  ReturnItemCollectionMetrics: returnItemCollectionMetrics,
};

/** One parsed action, as TransactWriteItems and PartiQL's ExecuteTransaction give them. */
export interface WriteAction {
  kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
  tableName: string;
  /** Put: the whole item; Update, Delete, ConditionCheck: the key. */
  item: Item;
  update?: UpdateExpression;
  condition?: Condition;
  /** ReturnValuesOnConditionCheckFailure ALL_OLD: the item goes into its reason. */
  returnOldOnFailure?: boolean;
}

export interface TransactWriteOptions {
  /** ClientRequestToken, and the fingerprint of its request (requestFingerprint). */
  token?: { id: string; fingerprint: string };
  returnConsumedCapacity?: unknown;
  /** SIZE: each item collection a Put, Update or Delete wrote (tables with LSIs). */
  returnItemCollectionMetrics?: unknown;
}

/** The aggregate size DynamoDB allows the items of one transaction. */
export const maxTransactionBytes = 4 * 1024 * 1024;

const kinds = ['ConditionCheck', 'Put', 'Delete', 'Update'] as const;

export const transactWriteItems: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const actions = (req.TransactItems as Record<string, Record<string, unknown>>[]).map(parseAction);
  const token = req.ClientRequestToken as string | undefined;
  return runTransactWrite(ctx, actions, {
    token: token === undefined ? undefined : { id: token, fingerprint: requestFingerprint(req) },
    returnConsumedCapacity: req.ReturnConsumedCapacity,
    returnItemCollectionMetrics: req.ReturnItemCollectionMetrics,
  });
};

function parseAction(raw: Record<string, unknown>): WriteAction {
  const present = kinds.filter((k) => raw[k] != null);
  if (present.length > 1) {
    throw validation('TransactItems can only contain one of Check, Put, Update or Delete');
  }
  if (!present.length) {
    throw validation(
      'Invalid Request: TransactWriteRequest should contain Delete or Put or Update request',
    );
  }
  const kind = present[0]!;
  const op = raw[kind] as Record<string, unknown>;
  const exprs: ('UpdateExpression' | 'ConditionExpression')[] =
    kind === 'Update' ? ['UpdateExpression', 'ConditionExpression'] : ['ConditionExpression'];
  checkExpressionParams(op, exprs, []);
  const parsed = parseExpressions(op);
  return {
    kind,
    tableName: op.TableName as string,
    item: checkItem(kind === 'Put' ? op.Item : op.Key),
    update: parsed.update,
    condition: parsed.condition,
    returnOldOnFailure: op.ReturnValuesOnConditionCheckFailure === 'ALL_OLD',
  };
}

// Which key errors DynamoDB reports as a cancellation reason (ValidationError) and
// which as a ValidationException of the whole request, as it answers them: a value
// of the wrong type or a key that does not match the schema is the former, an
// empty key value ("… are not valid …") the latter.
function isRequestLevel(err: DynamoError): boolean {
  return err.message.startsWith('One or more parameter values are not valid.');
}

function keyCheck(check: () => void): CancellationReason | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    if (!(err instanceof DynamoError) || err.type !== 'ValidationException') throw err;
    if (isRequestLevel(err)) throw err;
    return { Code: 'ValidationError', Message: err.message };
  }
}

interface Planned {
  action: WriteAction;
  meta: TableMeta;
  key: Item;
}

/**
 * Runs parsed actions as one transaction and answers the TransactWriteItems
 * response (ConsumedCapacity when asked). Throws TransactionCanceledException,
 * ValidationException, ResourceNotFoundException, IdempotentParameterMismatch…
 */
export async function runTransactWrite(
  ctx: ActionContext,
  actions: WriteAction[],
  opts: TransactWriteOptions = {},
): Promise<Record<string, unknown>> {
  const metas = new Map<string, TableMeta>();
  for (const a of actions) {
    if (!metas.has(a.tableName)) metas.set(a.tableName, await requireTable(ctx, a.tableName));
  }
  const reasons: CancellationReason[] = actions.map(() => noReason);
  const planned: Planned[] = [];
  let bytes = 0;
  actions.forEach((action, i) => {
    const meta = metas.get(action.tableName)!;
    const reason =
      action.kind === 'Put'
        ? keyCheck(() => {
            checkItemKey(meta.schema, action.item);
            checkIndexKeys(meta, action.item);
          })
        : keyCheck(() => checkKey(meta.schema, action.item));
    if (action.kind === 'Put' && itemSize(action.item) > maxItemSize) {
      throw validation('Item size has exceeded the maximum allowed size');
    }
    if (action.update) checkKeyNotUpdated(meta, action.update);
    bytes += itemSize(action.item);
    if (reason) reasons[i] = reason;
    planned.push({
      action,
      meta,
      key: action.kind === 'Put' && !reason ? keyOf(meta.schema, action.item) : action.item,
    });
  });
  const seen = new Set<string>();
  planned.forEach((p, i) => {
    if (reasons[i] !== noReason) return;
    const k = storageKey(p.meta.schema, p.key);
    const id = itemId(p.meta.id, k.hash, k.range);
    if (seen.has(id)) {
      throw validation('Transaction request cannot include multiple operations on one item');
    }
    seen.add(id);
  });
  if (bytes > maxTransactionBytes) {
    throw validation(
      'Collection size of items exceeded, which can also be caused by the aggregate size of the items in the transaction exceeding the 4MB limit',
    );
  }
  if (reasons.some((r) => r !== noReason)) throw transactionCanceled(reasons);

  // A transaction reads every item it writes, under locks taken with LWT.
  for (const p of planned) checkReadModifyWrite(p.meta, ctx.engine.writeIsolation);
  const items: TransactItem[] = planned.map((p) => ({
    meta: p.meta,
    key: storageKey(p.meta.schema, p.key),
  }));
  const estimates = new Map<TableMeta, { read: number; write: number }>();
  for (const p of planned) {
    const e = estimates.get(p.meta) ?? { read: 0, write: 0 };
    if (p.action.kind === 'ConditionCheck') e.read += 2;
    else e.write += 2 * (p.action.kind === 'Put' ? writeUnitsFor(p.action.item) : 1);
    estimates.set(p.meta, e);
  }
  for (const [meta, e] of estimates) {
    if (e.read) await ctx.capacity?.admit(meta, 'read', e.read);
    if (e.write) await ctx.capacity?.admit(meta, 'write', e.write);
  }
  for (const i of items) ctx.cache?.writing(i.meta, i.key);
  const outcome = await ctx.engine.transactWrite(
    items,
    (current) => decide(ctx, planned, current),
    {
      token: opts.token,
    },
  );
  const tally = new CapacityTally();
  if (outcome.replayed) {
    // A replay reads what the first call wrote instead of writing it again.
    for (const p of planned) tally.read(p.meta, 1);
  } else {
    outcome.result.forEach((r, i) => {
      const { meta } = planned[i]!;
      if (planned[i]!.action.kind === 'ConditionCheck') tally.read(meta, 2, r.old);
      else tally.write(meta, 2, r.old, r.next);
    });
  }
  const out = tally.response(ctx, opts.returnConsumedCapacity);
  // As BatchWriteItem lists them: per table, one entry per item collection written.
  const metrics: Record<string, Record<string, unknown>[]> = {};
  const counted = new Set<string>();
  const asked: Request = { ReturnItemCollectionMetrics: opts.returnItemCollectionMetrics };
  for (const [i, p] of planned.entries()) {
    if (p.action.kind === 'ConditionCheck') continue;
    const id = `${p.meta.name}\0${items[i]!.key.hash.toString('hex')}`;
    if (counted.has(id)) continue;
    counted.add(id);
    const m = await itemCollectionMetrics(ctx, asked, p.meta, p.key);
    if (m) (metrics[p.meta.name] ??= []).push(m);
  }
  if (Object.keys(metrics).length) out.ItemCollectionMetrics = metrics;
  return out;
}

/** UpdateExpression may not touch a key attribute. */
function checkKeyNotUpdated(meta: TableMeta, update: UpdateExpression): void {
  const keyNames = [meta.schema.hash.name, meta.schema.range?.name];
  for (const p of updatedPaths(update)) {
    const top = p.elems[0] as string;
    if (keyNames.includes(top)) {
      throw validation(`Cannot update attribute ${top}. This attribute is part of the key`);
    }
  }
}

interface Applied {
  old: Item | undefined;
  /** What the item becomes: an item, null (deleted), undefined (unchanged). */
  next: Item | null | undefined;
}

/**
 * Evaluates every action against the items as the engine read them. Any reason
 * other than None cancels the whole transaction, with every reason reported.
 */
function decide(ctx: ActionContext, planned: Planned[], current: (Item | undefined)[]) {
  const reasons: CancellationReason[] = planned.map(() => noReason);
  const applied: Applied[] = planned.map(({ action, meta, key }, i) => {
    const old = current[i];
    if (action.condition && !evaluate(action.condition, old ?? {})) {
      ctx.observer?.conditionalCheckFailed(meta.name);
      reasons[i] = {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        ...(action.returnOldOnFailure && old ? { Item: old } : {}),
      };
      return { old, next: undefined };
    }
    switch (action.kind) {
      case 'ConditionCheck':
        return { old, next: undefined };
      case 'Put':
        return { old, next: action.item };
      case 'Delete':
        return { old, next: old ? null : undefined };
      case 'Update':
        try {
          return { old, next: updated(meta, key, old, action.update!) };
        } catch (err) {
          if (!(err instanceof DynamoError) || err.type !== 'ValidationException') throw err;
          if (isRequestLevel(err)) throw err;
          reasons[i] = { Code: 'ValidationError', Message: err.message };
          return { old, next: undefined };
        }
    }
  });
  if (reasons.some((r) => r !== noReason)) throw transactionCanceled(reasons);
  return { writes: applied.map((a) => a.next), result: applied };
}

function updated(meta: TableMeta, key: Item, old: Item | undefined, update: UpdateExpression) {
  const next = applyUpdate(update, { ...(old ?? {}), ...key });
  for (const k of [meta.schema.hash.name, meta.schema.range?.name]) {
    if (k && !valuesEqual(next[k]!, key[k]!)) {
      throw validation(`Cannot update attribute ${k}. This attribute is part of the key`);
    }
  }
  if (itemSize(next) > maxItemSize) {
    throw validation('Item size to update has exceeded the maximum allowed size');
  }
  try {
    checkIndexKeys(meta, next);
  } catch (err) {
    // An empty index key value set by an update is refused for the whole request,
    // in the words DynamoDB uses for updates.
    if (err instanceof DynamoError && isRequestLevel(err)) {
      const what = /empty (string|binary) value/.exec(err.message)?.[1] ?? 'string';
      throw new DynamoError(
        'ValidationException',
        'One or more parameter values are not valid. The update expression attempted to update a secondary index key to a value that is not supported. ' +
          `The AttributeValue for a key attribute cannot contain an empty ${what} value.`,
      );
    }
    throw err;
  }
  return next;
}
