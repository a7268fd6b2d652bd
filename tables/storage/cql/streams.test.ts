// The CQL engine's stream records survive a replica that dies between an item's
// compare-and-set and the copy of its record into the stream log: the record rides
// in the item row, and the next write of the item copies it before its own.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import cassandra from 'cassandra-driver';
import { cqlConfig, dropKeyspace } from '../../../test/support/tables.ts';
import { streamsHarness, type Replica, type StreamsHarness } from '../../testing/streams.ts';

let h: StreamsHarness;
let r: Replica;
let config: Awaited<ReturnType<typeof cqlConfig>>;
let cql: cassandra.Client;

before(async () => {
  config = await cqlConfig();
  h = await streamsHarness(config, {
    visibilityMs: 0,
    cleanup: () => dropKeyspace(config).catch(() => dropKeyspace(config)),
  });
  r = await h.replica();
  cql = new cassandra.Client({
    contactPoints: config.contactPoints,
    localDataCenter: config.localDataCenter,
  });
});
after(async () => {
  await cql?.shutdown();
  await h?.close();
});

test('a record whose copy into the log was lost with its replica reaches the stream at the next write of its item, once and in order', async () => {
  const out = await r.client.send(
    new CreateTableCommand({
      TableName: 'crashy',
      AttributeDefinitions: [{ AttributeName: 'p', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'p', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
  const arn = out.TableDescription!.LatestStreamArn!;
  const shard = (await r.streams.send(new DescribeStreamCommand({ StreamArn: arn })))
    .StreamDescription!.Shards![0]!;
  const read = async () => {
    const it = await r.streams.send(
      new GetShardIteratorCommand({
        StreamArn: arn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    return (await r.streams.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator })))
      .Records!;
  };
  await r.client.send(
    new PutItemCommand({ TableName: 'crashy', Item: { p: { S: 'a' }, n: { N: '1' } } }),
  );
  const [first] = await read();
  assert.equal(first!.eventName, 'INSERT');
  // The replica died after its compare-and-set: the log never got the record.
  const meta = (await r.engine.getTable('crashy'))!;
  const seq = first!.dynamodb!.SequenceNumber!;
  const bucket = cassandra.types.Long.fromString(String(BigInt(seq) / 1_000_000_000n / 3_600_000n));
  await cql.execute(
    `DELETE FROM ${config.keyspace}.selfless_stream_records WHERE stream = ? AND bucket = ?`,
    [`${meta.id}/${meta.streams![0]!.label}`, bucket],
    { prepare: true },
  );
  assert.deepEqual(await read(), []);
  await r.client.send(
    new PutItemCommand({ TableName: 'crashy', Item: { p: { S: 'a' }, n: { N: '2' } } }),
  );
  const records = await read();
  assert.deepEqual(
    records.map((x) => [x.eventName, x.dynamodb!.NewImage!.n!.N, x.dynamodb!.SequenceNumber]),
    [
      ['INSERT', '1', seq],
      ['MODIFY', '2', records[1]!.dynamodb!.SequenceNumber],
    ],
  );
  assert.ok(BigInt(records[1]!.dynamodb!.SequenceNumber!) > BigInt(seq));
});
