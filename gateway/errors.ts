// Lambda's error responses, in one place. The AWS SDK reads the error name from the
// x-amzn-ErrorType header first, then the body; the body carries `Type` and
// `message` as Lambda's does. Handlers return or throw LambdaError values; only
// sendLambdaError turns them into HTTP.
import type { Response } from 'express';

export class LambdaError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = type;
  }
}

export const lambdaErrors = {
  notFound: (arn: string) =>
    new LambdaError(404, 'ResourceNotFoundException', `Function not found: ${arn}`),
  tooLarge: (limit: number) =>
    new LambdaError(
      413,
      'RequestTooLargeException',
      `Request must be smaller than ${limit} bytes for the InvokeFunction operation`,
    ),
  invalidJson: (detail: string) =>
    new LambdaError(
      400,
      'InvalidRequestContentException',
      `Could not parse request body into json: ${detail}`,
    ),
  invalidParameter: (message: string) =>
    new LambdaError(400, 'InvalidParameterValueException', message),
  validation: (value: string, member: string, constraint: string) =>
    new LambdaError(
      400,
      'ValidationException',
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`,
    ),
  throttled: (reason: string, retryAfterSeconds: number) =>
    new LambdaError(
      429,
      'TooManyRequestsException',
      'Rate Exceeded.',
      { Reason: reason },
      {
        'Retry-After': String(retryAfterSeconds),
      },
    ),
  recursiveInvocation: () =>
    new LambdaError(
      400,
      'RecursiveInvocationException',
      "Lambda has detected your function being invoked in a recursive loop with other AWS resources and stopped your function's invocation.",
    ),
  service: (message: string) => new LambdaError(500, 'ServiceException', message),
  notImplemented: (message: string) => new LambdaError(501, 'ServiceException', message),
};

export function sendLambdaError(res: Response, err: LambdaError): void {
  res.status(err.status);
  res.setHeader('x-amzn-ErrorType', err.type);
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.json({ Type: err.status >= 500 ? 'Service' : 'User', message: err.message, ...err.extra });
}

/** Anything thrown that is not a LambdaError is our fault: 500 ServiceException. */
export function asLambdaError(err: unknown): LambdaError {
  return err instanceof LambdaError ? err : lambdaErrors.service('An internal error occurred.');
}
