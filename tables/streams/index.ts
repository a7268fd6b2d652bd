// The DynamoDB Streams actions (X-Amz-Target: DynamoDBStreams_20120810.<Action>).
import type { StreamsAction } from './context.ts';
import { describeStream } from './describe-stream.ts';
import { getRecords } from './get-records.ts';
import { getShardIterator } from './get-shard-iterator.ts';
import { listStreams } from './list-streams.ts';

export const streamsActions: Record<string, StreamsAction> = {
  DescribeStream: describeStream,
  GetRecords: getRecords,
  GetShardIterator: getShardIterator,
  ListStreams: listStreams,
};
