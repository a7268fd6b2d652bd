// ListStreams: the streams of one table or of all, by table name then label,
// disabled ones included while their records may be read.
import { notFound, validation } from '../errors.ts';
import { checkRequest, type Schema } from '../validate.ts';
import { readable, type StreamsAction } from './context.ts';
import { parseStreamArn, streamArn } from './model.ts';

export const schema: Schema = {
  TableName: { type: 'String', regex: '[a-zA-Z0-9_.-]+', minLength: 3, maxLength: 255 },
  Limit: { type: 'Integer', min: 1, max: 100 },
  ExclusiveStartStreamArn: { type: 'String', minLength: 37, maxLength: 1024 },
};

export const listStreams: StreamsAction = async (ctx, req) => {
  checkRequest(req, schema);
  const start = req.ExclusiveStartStreamArn as string | undefined;
  const from = start === undefined ? undefined : parseStreamArn(start);
  if (start !== undefined && !from) throw validation('Invalid ExclusiveStartStreamArn');
  const limit = (req.Limit as number | undefined) ?? 100;
  const only = req.TableName as string | undefined;
  const names = only ? [only] : await ctx.engine.listTables();
  const now = ctx.now();
  const out: { StreamArn: string; TableName: string; StreamLabel: string }[] = [];
  let more = false;
  for (const name of names) {
    const meta = await ctx.engine.getTable(name);
    if (!meta) {
      if (only) throw notFound(`Requested resource not found: Table: ${name} not found`);
      continue;
    }
    for (const s of meta.streams ?? []) {
      if (!readable(s, now)) continue;
      if (from && (name < from.table || (name === from.table && s.label <= from.label))) continue;
      if (out.length === limit) {
        more = true;
        break;
      }
      out.push({
        StreamArn: streamArn(ctx.region, ctx.accountId, name, s.label),
        TableName: name,
        StreamLabel: s.label,
      });
    }
    if (more) break;
  }
  const res: Record<string, unknown> = { Streams: out };
  if (more) res.LastEvaluatedStreamArn = out[out.length - 1]!.StreamArn;
  return res;
};
