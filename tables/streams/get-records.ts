// GetRecords: up to Limit records (at most 1 MB) of a shard from an iterator's
// position, and the iterator of the position after them. A closed shard read to
// its end answers no NextShardIterator, as DynamoDB does.
import { notFound } from '../errors.ts';
import { checkRequest, type Schema } from '../validate.ts';
import { endingSequence, findStream, type StreamsAction } from './context.ts';
import { decodeIterator, encodeIterator } from './iterator.ts';
import { sequenceAt, type StoredRecord } from './model.ts';

export const schema: Schema = {
  ShardIterator: { type: 'String', notNull: true, minLength: 1, maxLength: 2048 },
  Limit: { type: 'Integer', min: 1, max: 1000 },
};

const maxBytes = 1024 * 1024;

export const getRecords: StreamsAction = async (ctx, req) => {
  checkRequest(req, schema);
  const now = ctx.now();
  const it = decodeIterator(req.ShardIterator as string, now);
  const { meta, stream } = await findStream(ctx, it.arn);
  if (it.shard !== stream.shardId) {
    throw notFound('Requested resource not found: Shard does not exist');
  }
  const limit = (req.Limit as number | undefined) ?? 1000;
  const end = endingSequence(stream);
  const visible = sequenceAt(now - ctx.visibilityMs);
  const until = end && end < visible ? end : visible;
  const rows = await ctx.engine.readStream(`${meta.id}/${stream.label}`, it.after, until, limit);
  const records: Record<string, unknown>[] = [];
  let bytes = 0;
  let after = it.after;
  for (const row of rows) {
    if (records.length && bytes + row.record.length > maxBytes) break;
    bytes += row.record.length;
    const r = JSON.parse(row.record) as StoredRecord;
    records.push({
      eventID: r.eventID,
      eventName: r.eventName,
      eventVersion: r.eventVersion,
      eventSource: r.eventSource,
      awsRegion: ctx.region,
      dynamodb: r.dynamodb,
      ...(r.userIdentity && { userIdentity: r.userIdentity }),
    });
    after = row.seq;
  }
  ctx.metrics?.streamRecordsRead(meta.name, records.length);
  const out: Record<string, unknown> = { Records: records };
  const closedAndRead =
    end !== undefined && until === end && rows.length < limit && !records.length;
  if (!closedAndRead) {
    out.NextShardIterator = encodeIterator({ ...it, after, issued: now });
  }
  return out;
};
