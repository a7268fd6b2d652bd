// The table service as an AWS SDK client sees it: DynamoDB JSON 1.0 over HTTP
// (X-Amz-Target DynamoDB_20120810.* and DynamoDBStreams_20120810.*). The gateway
// never imports tables/: in a cluster the table service is another Service, and in
// `selfless dev` it is the same port. Errors keep DynamoDB's type name. With
// credentials every call is SigV4-signed for service `dynamodb`, as the SDK signs, so
// a table service that checks signatures serves the poller like any other client.
import { signSigV4, type SigV4Credentials } from '../../lib/sigv4.ts';

export interface StreamRecord {
  eventID: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  eventVersion: string;
  eventSource: string;
  awsRegion: string;
  dynamodb: {
    ApproximateCreationDateTime: number;
    Keys: Record<string, unknown>;
    NewImage?: Record<string, unknown>;
    OldImage?: Record<string, unknown>;
    SequenceNumber: string;
    SizeBytes: number;
    StreamViewType: string;
  };
  userIdentity?: { Type: string; PrincipalId: string };
}

export interface Shard {
  ShardId: string;
  ParentShardId?: string;
  SequenceNumberRange: { StartingSequenceNumber?: string; EndingSequenceNumber?: string };
}

export class StreamsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = type;
  }
}

export type IteratorType = 'TRIM_HORIZON' | 'LATEST' | 'AFTER_SEQUENCE_NUMBER';

export interface StreamsApi {
  describeTable(table: string): Promise<{ LatestStreamArn?: string; StreamEnabled: boolean }>;
  describeStream(arn: string): Promise<{ shards: Shard[]; status: string }>;
  shardIterator(arn: string, shard: string, type: IteratorType, seq?: string): Promise<string>;
  records(iterator: string, limit: number): Promise<{ records: StreamRecord[]; next?: string }>;
}

export function streamsClient(
  endpoint: string,
  region: string,
  credentials?: SigV4Credentials,
): StreamsApi {
  const url = new URL(endpoint);
  async function call(target: string, body: unknown): Promise<Record<string, unknown>> {
    const payload = JSON.stringify(body);
    const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': target };
    const res = await fetch(url, {
      method: 'POST',
      headers: credentials
        ? signSigV4(
            { method: 'POST', url, headers, body: payload },
            { credentials, region, service: 'dynamodb' },
          )
        : // Unsigned, the region names the caller's: for a table service that checks nothing.
          { ...headers, 'x-amz-region-set': region },
      body: payload,
    });
    const text = await res.text();
    const json = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (!res.ok) {
      const type = String(json.__type ?? 'UnknownError').replace(/^.*#/, '');
      throw new StreamsError(type, String(json.message ?? json.Message ?? text), res.status);
    }
    return json;
  }

  return {
    async describeTable(table) {
      const out = await call('DynamoDB_20120810.DescribeTable', { TableName: table });
      const t = out.Table as {
        LatestStreamArn?: string;
        StreamSpecification?: { StreamEnabled?: boolean };
      };
      return {
        ...(t.LatestStreamArn && { LatestStreamArn: t.LatestStreamArn }),
        StreamEnabled: t.StreamSpecification?.StreamEnabled === true,
      };
    },
    async describeStream(arn) {
      const shards: Shard[] = [];
      let status = '';
      let start: string | undefined;
      do {
        const out = await call('DynamoDBStreams_20120810.DescribeStream', {
          StreamArn: arn,
          ...(start && { ExclusiveStartShardId: start }),
        });
        const d = out.StreamDescription as {
          Shards?: Shard[];
          StreamStatus: string;
          LastEvaluatedShardId?: string;
        };
        shards.push(...(d.Shards ?? []));
        status = d.StreamStatus;
        start = d.LastEvaluatedShardId;
      } while (start);
      return { shards, status };
    },
    async shardIterator(arn, shard, type, seq) {
      const out = await call('DynamoDBStreams_20120810.GetShardIterator', {
        StreamArn: arn,
        ShardId: shard,
        ShardIteratorType: type,
        ...(seq !== undefined && { SequenceNumber: seq }),
      });
      return String(out.ShardIterator);
    },
    async records(iterator, limit) {
      const out = await call('DynamoDBStreams_20120810.GetRecords', {
        ShardIterator: iterator,
        Limit: limit,
      });
      return {
        records: (out.Records as StreamRecord[] | undefined) ?? [],
        ...(typeof out.NextShardIterator === 'string' && { next: out.NextShardIterator }),
      };
    },
  };
}

/**
 * `api` telling `failed` of each call that fails, by DynamoDB action and error type
 * (`ConnectionError` when no DynamoDB answer came back), before the caller handles it.
 */
export function reportingFailures(
  api: StreamsApi,
  failed: (action: string, error: string) => void,
): StreamsApi {
  const watch =
    <A extends unknown[], R>(action: string, f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await f(...args);
      } catch (err) {
        failed(action, err instanceof StreamsError ? err.type : 'ConnectionError');
        throw err;
      }
    };
  return {
    describeTable: watch('DescribeTable', (t) => api.describeTable(t)),
    describeStream: watch('DescribeStream', (a) => api.describeStream(a)),
    shardIterator: watch('GetShardIterator', (a, s, t, q) => api.shardIterator(a, s, t, q)),
    records: watch('GetRecords', (i, l) => api.records(i, l)),
  };
}
