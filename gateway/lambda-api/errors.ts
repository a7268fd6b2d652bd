// The errors of Lambda's deployment API, in Lambda's words (status, type, message).
// Invoke's and the read APIs' errors are in ../errors.ts; these are the ones only
// the API that changes functions gives.
import { LambdaError } from '../errors.ts';

export const apiErrors = {
  functionExists: (name: string) =>
    new LambdaError(409, 'ResourceConflictException', `Function already exist: ${name}`),
  updateInProgress: (arn: string) =>
    new LambdaError(
      409,
      'ResourceConflictException',
      `The operation cannot be performed at this time. An update is in progress for resource: ${arn}`,
    ),
  conflict: (message: string) => new LambdaError(409, 'ResourceConflictException', message),
  notFound: (message: string) => new LambdaError(404, 'ResourceNotFoundException', message),
  revisionMismatch: () =>
    new LambdaError(
      412,
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
    ),
  codeTooLarge: (limit: number, action: string) =>
    new LambdaError(
      413,
      'RequestEntityTooLargeException',
      `Request must be smaller than ${limit} bytes for the ${action} operation`,
    ),
  /** A field the action does not know: Lambda's JSON parser words, with the nearest name. */
  unknownField: (message: string) =>
    new LambdaError(400, 'InvalidRequestContentException', message),
};
