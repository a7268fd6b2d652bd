// The stream and TTL instruments count what happened: records written with their
// changes (none for a write that changed nothing), records GetRecords answered,
// and items the TTL expirer deleted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CreateTableCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { Registry } from 'prom-client';
import { streamsHarness } from '../testing/streams.ts';

test('stream records written and read and TTL deletions are counted per table', async () => {
  const registry = new Registry();
  const h = await streamsHarness({ engine: 'sqlite' }, { registry });
  try {
    const r = await h.replica();
    const out = await r.client.send(
      new CreateTableCommand({
        TableName: 'counted',
        AttributeDefinitions: [{ AttributeName: 'p', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'p', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
      }),
    );
    const arn = out.TableDescription!.LatestStreamArn!;
    await r.client.send(
      new UpdateTimeToLiveCommand({
        TableName: 'counted',
        TimeToLiveSpecification: { AttributeName: 'exp', Enabled: true },
      }),
    );
    const past = String(Math.floor(Date.now() / 1000) - 60);
    await r.client.send(new PutItemCommand({ TableName: 'counted', Item: { p: { S: 'a' } } }));
    await r.client.send(new PutItemCommand({ TableName: 'counted', Item: { p: { S: 'a' } } }));
    await r.client.send(
      new PutItemCommand({ TableName: 'counted', Item: { p: { S: 'b' }, exp: { N: past } } }),
    );
    assert.equal(await r.handler.expirer!.runOnce(), 1);
    const shard = (await r.streams.send(new DescribeStreamCommand({ StreamArn: arn })))
      .StreamDescription!.Shards![0]!;
    const it = await r.streams.send(
      new GetShardIteratorCommand({
        StreamArn: arn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const page = await r.streams.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator }));
    assert.equal(page.Records!.length, 3);
    const value = async (name: string) =>
      (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.table === 'counted')
        ?.value;
    assert.equal(await value('selfless_tables_stream_records_written_total'), 3);
    assert.equal(await value('selfless_tables_stream_records_read_total'), 3);
    assert.equal(await value('selfless_tables_ttl_deletions_total'), 1);
  } finally {
    await h.close();
  }
});
