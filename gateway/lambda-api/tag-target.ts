// The function a tagging call names by its ARN (TagResource, UntagResource, ListTags).
import type { Request } from 'express';
import { lambdaErrors } from '../errors.ts';
import { resolveKey } from '../invoke.ts';
import type { FunctionRecord } from './catalog.ts';
import { callerNamespace, type ApiContext } from './context.ts';

export function taggedFunction(ctx: ApiContext, req: Request): FunctionRecord {
  const raw = String(req.params.arn);
  if (!raw.startsWith('arn:')) {
    throw lambdaErrors.validation(
      raw,
      'resource',
      'Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:[a-zA-Z0-9-_]+|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})',
    );
  }
  const ref = resolveKey(ctx.account, raw, undefined, callerNamespace(ctx, req));
  if (ref.qualifier !== undefined) {
    throw lambdaErrors.invalidParameter(
      'Tags on function aliases and versions are not supported. Please specify a function ARN.',
    );
  }
  const record = ref.key === undefined ? undefined : ctx.catalog.get(ref.key);
  if (!record) throw lambdaErrors.notFound(ref.arn);
  return record;
}
