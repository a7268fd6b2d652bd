// A DynamoDB error as DAX sends it: three CBOR values, the code sequence the client
// maps to an exception, the message, and [requestId, error type, HTTP status]. The
// client names the exception from the sequence when it knows it and from the type
// otherwise, and retries on status 500 and on the throttling codes.
import { randomUUID } from 'node:crypto';
import type { DynamoError } from '../errors.ts';
import { CborWriter } from './cbor.ts';

/** The last code of [4, 37, 38, 39, n] (DaxServiceError.js), for the types it names. */
const dynamoCodes: Record<string, number> = {
  ProvisionedThroughputExceededException: 40,
  ResourceNotFoundException: 41,
  ConditionalCheckFailedException: 43,
  ResourceInUseException: 45,
  ValidationException: 46,
  InternalServerError: 47,
  ItemCollectionSizeLimitExceededException: 48,
  LimitExceededException: 49,
  ThrottlingException: 50,
  RequestLimitExceeded: 61,
  TransactionCanceledException: 58,
};

/** Errors of the connection's authentication: [4, 23, 31, 32]. */
const authTypes = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
]);

/**
 * `reasons`: a transaction's cancellation reasons, already encoded (code, message,
 * item per write), sent as the details' fourth element.
 */
export function encodeError(err: DynamoError, reasons?: Buffer): Buffer {
  const code = dynamoCodes[err.type];
  // A first code of 2 would make the client wait for a new cluster leader first.
  const seq = authTypes.has(err.type)
    ? [4, 23, 31, 32]
    : code !== undefined
      ? [4, 37, 38, 39, code]
      : [4, 37, 38, 39];
  const w = new CborWriter().array(seq.length);
  for (const n of seq) w.int(n);
  w.text(err.message);
  w.array(reasons ? 4 : 3)
    .text(randomUUID())
    .text(err.type)
    .int(err.status);
  if (reasons) w.raw(reasons);
  return w.encoded();
}
