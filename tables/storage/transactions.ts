// What both engines and the transaction actions share: the errors a transaction
// ends in, DynamoDB's words for them, and the ClientRequestToken window. The
// protocols themselves are per engine (sqlite/transactions.ts: one database
// transaction; cql/transactions.ts: a transaction record and per-item locks).
import { createHash } from 'node:crypto';
import { DynamoError } from '../errors.ts';
import type { Item } from '../values.ts';

/** One entry of TransactionCanceledException.CancellationReasons. */
export interface CancellationReason {
  Code: 'None' | 'ConditionalCheckFailed' | 'TransactionConflict' | 'ValidationError';
  Message?: string;
  Item?: Item;
}

export const noReason: CancellationReason = { Code: 'None' };
export const conflictReason: CancellationReason = {
  Code: 'TransactionConflict',
  Message: 'Transaction is ongoing for the item',
};

/** A client request token is remembered this long after its transaction completed. */
export const tokenWindowMs = 10 * 60 * 1000;

/**
 * TransactionCanceledException, reasons in request order. DynamoDB sends the
 * text as `Message` (the SDKs read either spelling).
 */
export function transactionCanceled(reasons: CancellationReason[]): DynamoError {
  const message =
    'Transaction cancelled, please refer cancellation reasons for specific reasons ' +
    `[${reasons.map((r) => r.Code).join(', ')}]`;
  return new DynamoError('TransactionCanceledException', message, 400, {
    Message: message,
    CancellationReasons: reasons,
  });
}

/** A transaction cancelled because item `index` (or every item) is locked by another one. */
export function conflictAt(count: number, index?: number): DynamoError {
  return transactionCanceled(
    Array.from({ length: count }, (_, i) =>
      index === undefined || i === index ? conflictReason : noReason,
    ),
  );
}

/** A single-item write that met an item locked by a transaction in flight. */
export const transactionConflict = () =>
  new DynamoError('TransactionConflictException', 'Transaction is ongoing for the item');

export const idempotentMismatch = () =>
  new DynamoError(
    'IdempotentParameterMismatchException',
    'The request uses the same client token as a previous, but non-identical request.',
  );

export const transactionInProgress = () =>
  new DynamoError('TransactionInProgressException', 'Transaction is in progress');

/**
 * What a ClientRequestToken is compared by: the request without the token
 * itself. Two requests with one token and different fingerprints are a mismatch.
 */
export function requestFingerprint(req: Record<string, unknown>): string {
  const rest = { ...req };
  delete rest.ClientRequestToken;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

/** The identity of an item inside one transaction (duplicates, lock order). */
export function itemId(tableId: string, hash: Buffer, range: Buffer): string {
  return `${tableId}/${hash.toString('hex')}/${range.toString('hex')}`;
}
