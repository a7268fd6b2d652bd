// ListTables: names in ascending order, at most Limit (default 100) per page.
import { checkRequest, type Schema } from '../validate.ts';
import type { Action } from './context.ts';

export const schema: Schema = {
  Limit: { type: 'Integer', min: 1, max: 100 },
  ExclusiveStartTableName: {
    type: 'String',
    regex: '[a-zA-Z0-9_.-]+',
    minLength: 3,
    maxLength: 255,
  },
};

export const listTables: Action = async (ctx, req) => {
  checkRequest(req, schema);
  const limit = (req.Limit as number | undefined) ?? 100;
  const start = req.ExclusiveStartTableName as string | undefined;
  const names = (await ctx.engine.listTables()).filter((n) => start === undefined || n > start);
  const page = names.slice(0, limit);
  const out: Record<string, unknown> = { TableNames: page };
  if (names.length > limit) out.LastEvaluatedTableName = page[page.length - 1];
  return out;
};
