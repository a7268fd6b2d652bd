// TagResource: POST /2017-03-31/tags/{ARN}: adds tags to a function (50 at most).
import type { Request, Response } from 'express';
import { lambdaErrors } from '../errors.ts';
import type { ApiContext } from './context.ts';
import { jsonBody, knownFields, stringMap } from './request.ts';
import { taggedFunction } from './tag-target.ts';

export const MAX_TAGS = 50;

export function checkTags(tags: Record<string, string>): void {
  for (const [k, v] of Object.entries(tags)) {
    if (k.length < 1 || k.length > 128 || v.length > 256) {
      throw lambdaErrors.invalidParameter(
        `Invalid tag: keys are 1-128 characters, values at most 256 (${k}).`,
      );
    }
    if (k.toLowerCase().startsWith('aws:')) {
      throw lambdaErrors.invalidParameter(`Tag keys prefixed with aws: are reserved (${k}).`);
    }
  }
  if (Object.keys(tags).length > MAX_TAGS) {
    throw lambdaErrors.invalidParameter(
      `Number of tags exceeds resource tag limit of ${MAX_TAGS}.`,
    );
  }
}

export function makeTagResource(ctx: ApiContext) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = jsonBody(res);
    knownFields(body, ['Tags']);
    const record = taggedFunction(ctx, req);
    const tags = stringMap(body, 'Tags');
    if (tags === undefined)
      throw lambdaErrors.validation('null', 'tags', 'Member must not be null');
    const merged = { ...record.tags, ...tags };
    checkTags(merged);
    await ctx.catalog.setTags(record, merged);
    res.status(204).end();
  };
}
