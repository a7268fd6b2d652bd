// DynamoDB errors as values with their wire shape: HTTP status, `__type` (clients
// read the part after '#') and `message`. Every failure an action can produce is
// one of these; anything else reaching the HTTP layer is a storage fault (500).
export const errorPrefix = 'com.amazonaws.dynamodb.v20120810#';

export class DynamoError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
    /** Extra fields of the error body (CancellationReasons, Item…). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }

  body(): Record<string, unknown> {
    return { __type: errorPrefix + this.type, message: this.message, ...this.extra };
  }
}

export const validation = (message: string) => new DynamoError('ValidationException', message);
export const serialization = (message: string) =>
  new DynamoError('SerializationException', message);
export const notFound = (message = 'Requested resource not found') =>
  new DynamoError('ResourceNotFoundException', message);
export const inUse = (message: string) => new DynamoError('ResourceInUseException', message);
export const conditionFailed = (item?: Record<string, unknown>) =>
  new DynamoError(
    'ConditionalCheckFailedException',
    'The conditional request failed',
    400,
    item ? { Item: item } : {},
  );
export const internal = (message = 'Internal server error') =>
  new DynamoError('InternalServerError', message, 500);
