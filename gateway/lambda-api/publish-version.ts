// PublishVersion: POST /2015-03-31/functions/{name}/versions. An immutable snapshot
// of $LATEST's code and configuration under the next number; when $LATEST has not
// changed since the last version, that version is returned, as Lambda does.
// CodeSha256 and RevisionId, when given, must be $LATEST's.
import type { Request, Response } from 'express';
import { lambdaErrors } from '../errors.ts';
import { functionConfiguration } from './configuration.ts';
import { target, type ApiContext } from './context.ts';
import { checkRevision, jsonBody, knownFields, stringField } from './request.ts';
import { checkUpdatable } from './update-function-code.ts';

export function makePublishVersion(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = jsonBody(res);
    knownFields(body, ['CodeSha256', 'Description', 'RevisionId', 'PublishTo']);
    const t = target(ctx, req);
    const sha = stringField(body, 'CodeSha256', 'codeSha256');
    const description = stringField(body, 'Description', 'description', { max: 256 });
    const revision = stringField(body, 'RevisionId', 'revisionId');
    checkUpdatable(t);
    if (sha !== undefined && sha !== t.record.meta.codeSha256) {
      throw lambdaErrors.invalidParameter(
        `CodeSHA256 (${sha}) is different from current CodeSHA256 in $LATEST (${t.record.meta.codeSha256}). Please try again with the current CodeSHA256.`,
      );
    }
    checkRevision(revision, t.record.meta.revisionId);
    const v = await ctx.catalog.publish(t.record, description);
    res.status(201).json(functionConfiguration(ctx.account, v.fn, v.meta));
  };
}
