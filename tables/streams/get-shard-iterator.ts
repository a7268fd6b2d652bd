// GetShardIterator: a position in a shard, as an iterator any replica can serve.
import { notFound, validation } from '../errors.ts';
import { checkRequest, type Schema } from '../validate.ts';
import { findStream, trimmed, type StreamsAction } from './context.ts';
import { encodeIterator } from './iterator.ts';
import { retentionMs, sequenceAt, sequenceTime } from './model.ts';

export const schema: Schema = {
  StreamArn: { type: 'String', notNull: true, minLength: 37, maxLength: 1024 },
  ShardId: { type: 'String', notNull: true, minLength: 28, maxLength: 65 },
  ShardIteratorType: {
    type: 'String',
    notNull: true,
    enum: ['TRIM_HORIZON', 'LATEST', 'AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER'],
  },
  SequenceNumber: { type: 'String', minLength: 21, maxLength: 40 },
};

const pad = (n: bigint) => String(n).padStart(22, '0');

export const getShardIterator: StreamsAction = async (ctx, req) => {
  checkRequest(req, schema);
  const type = req.ShardIteratorType as string;
  const seq = req.SequenceNumber as string | undefined;
  const bySequence = type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER';
  if (bySequence && seq === undefined) {
    throw validation(`Must provide SequenceNumber for ShardIteratorType ${type}`);
  }
  if (!bySequence && seq !== undefined) {
    throw validation(`Must not provide SequenceNumber for ShardIteratorType ${type}`);
  }
  if (seq !== undefined && !/^\d+$/.test(seq)) throw validation(`Invalid SequenceNumber: ${seq}`);
  const arn = req.StreamArn as string;
  const { stream } = await findStream(ctx, arn);
  if (req.ShardId !== stream.shardId) {
    throw notFound(`Requested resource not found: Shard does not exist`);
  }
  const now = ctx.now();
  let after: string;
  if (type === 'TRIM_HORIZON') after = pad(0n);
  else if (type === 'LATEST') after = pad(BigInt(sequenceAt(now)) - 1n);
  else {
    const n = BigInt(seq!);
    if (n > 0n && sequenceTime(pad(n)) < now - retentionMs) throw trimmed();
    after = pad(type === 'AT_SEQUENCE_NUMBER' ? (n > 0n ? n - 1n : 0n) : n);
  }
  return {
    ShardIterator: encodeIterator({ arn, shard: stream.shardId, after, issued: now }),
  };
};
