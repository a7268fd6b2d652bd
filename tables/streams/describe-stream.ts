// DescribeStream: a stream, its status and its one shard (closed once the stream
// is disabled, with an EndingSequenceNumber).
import { checkRequest, type Schema } from '../validate.ts';
import { endingSequence, findStream, startingSequence, type StreamsAction } from './context.ts';

export const schema: Schema = {
  StreamArn: { type: 'String', notNull: true, minLength: 37, maxLength: 1024 },
  Limit: { type: 'Integer', min: 1, max: 100 },
  ExclusiveStartShardId: { type: 'String', minLength: 28, maxLength: 65 },
};

export const describeStream: StreamsAction = async (ctx, req) => {
  checkRequest(req, schema);
  const arn = req.StreamArn as string;
  const { meta, stream } = await findStream(ctx, arn);
  const start = req.ExclusiveStartShardId as string | undefined;
  const range: Record<string, string> = { StartingSequenceNumber: startingSequence(stream) };
  const end = endingSequence(stream);
  if (end) range.EndingSequenceNumber = end;
  const shards =
    start === undefined || stream.shardId > start
      ? [{ ShardId: stream.shardId, SequenceNumberRange: range }]
      : [];
  return {
    StreamDescription: {
      StreamArn: arn,
      StreamLabel: stream.label,
      StreamStatus: stream.disabledAt === undefined ? 'ENABLED' : 'DISABLED',
      StreamViewType: stream.viewType,
      CreationRequestDateTime: stream.createdAt / 1000,
      TableName: meta.name,
      KeySchema: meta.description.KeySchema,
      Shards: shards,
    },
  };
};
