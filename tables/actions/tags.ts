// TagResource, UntagResource, ListTagsOfResource: tags live in the table's metadata.
import { notFound, validation } from '../errors.ts';
import type { TableMeta } from '../storage/engine.ts';
import { checkRequest, type Field, type Schema } from '../validate.ts';
import type { Action, ActionContext } from './context.ts';
import { checkTagLimit, tagsField } from './create-table.ts';
import { checkWriteIsolationTag } from '../storage/write-isolation.ts';

const arnField: Field = { type: 'String', notNull: true, minLength: 1, maxLength: 1283 };

async function tableOfArn(ctx: ActionContext, arn: string): Promise<TableMeta> {
  const m = /^arn:aws:dynamodb:([^:]+):([^:]+):table\/([a-zA-Z0-9_.-]{3,255})$/.exec(arn);
  if (!m) throw validation(`Invalid TableArn: Invalid ResourceArn provided as input ${arn}`);
  const meta = await ctx.engine.getTable(m[3]!);
  if (!meta || meta.description.TableArn !== arn) {
    throw notFound(`Requested resource not found: ResourcArn: ${arn} not found`);
  }
  return meta;
}

export const tagResourceSchema: Schema = {
  ResourceArn: arnField,
  Tags: { ...tagsField, notNull: true },
};

export const tagResource: Action = async (ctx, req) => {
  checkRequest(req, tagResourceSchema);
  const tags = req.Tags as { Key: string; Value: string }[];
  if (!tags.length) throw validation('Atleast one Tag needs to be provided as Input.');
  const meta = await tableOfArn(ctx, req.ResourceArn as string);
  const next = { ...meta.tags };
  for (const t of tags) next[t.Key] = t.Value;
  checkTagLimit(next);
  checkWriteIsolationTag(next);
  await ctx.engine.updateTable({ ...meta, tags: next });
  return {};
};

export const untagResourceSchema: Schema = {
  ResourceArn: arnField,
  TagKeys: { type: 'List', notNull: true, items: { type: 'String', minLength: 1, maxLength: 128 } },
};

export const untagResource: Action = async (ctx, req) => {
  checkRequest(req, untagResourceSchema);
  const keys = req.TagKeys as string[];
  if (!keys.length) throw validation('Atleast one Tag Key needs to be provided as Input.');
  const meta = await tableOfArn(ctx, req.ResourceArn as string);
  const next = { ...meta.tags };
  for (const k of keys) delete next[k];
  await ctx.engine.updateTable({ ...meta, tags: next });
  return {};
};

export const listTagsSchema: Schema = {
  ResourceArn: arnField,
  NextToken: { type: 'String' },
};

export const listTagsOfResource: Action = async (ctx, req) => {
  checkRequest(req, listTagsSchema);
  const meta = await tableOfArn(ctx, req.ResourceArn as string);
  return { Tags: Object.entries(meta.tags).map(([Key, Value]) => ({ Key, Value })) };
};
