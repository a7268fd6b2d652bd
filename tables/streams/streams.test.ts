// DynamoDB Streams through the real @aws-sdk/client-dynamodb-streams client, on
// sqlite and on a real Cassandra: the records DynamoDB writes (one per item-level
// change, INSERT/MODIFY/REMOVE, images by view type, none for a write that
// changed nothing or a failed condition), in order, from every iterator type,
// across replicas, with DynamoDB's errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  BatchWriteItemCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListStreamsCommand,
  type GetRecordsCommandOutput,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { cqlConfig, dropKeyspace, engineKinds, rejectsWith } from '../../test/support/tables.ts';
import { streamsHarness, type Replica, type StreamsHarness } from '../testing/streams.ts';

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });
let tableNo = 0;

async function streamTable(r: Replica, viewType?: string, name = `table${++tableNo}`) {
  const out = await r.client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'p', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'p', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      ...(viewType && {
        StreamSpecification: { StreamEnabled: true, StreamViewType: viewType as 'KEYS_ONLY' },
      }),
    }),
  );
  return { name, arn: out.TableDescription!.LatestStreamArn!, desc: out.TableDescription! };
}

async function shardOf(r: Replica, arn: string) {
  const d = await r.streams.send(new DescribeStreamCommand({ StreamArn: arn }));
  return d.StreamDescription!.Shards![0]!;
}

/**
 * Reads from `it` until `n` records came (at most 50 reads). A record shows from the
 * millisecond after it was written (a reader never passes a millisecond that may
 * still get records), so a read in that same millisecond answers nothing yet and
 * keeps its position.
 */
async function readAtLeast(r: Replica, it: string, n: number) {
  const records: NonNullable<GetRecordsCommandOutput['Records']> = [];
  let next = it;
  for (let i = 0; i < 50 && records.length < n; i++) {
    const got = await r.streams.send(new GetRecordsCommand({ ShardIterator: next }));
    records.push(...got.Records!);
    next = got.NextShardIterator!;
  }
  return { records, next };
}

async function iterator(r: Replica, arn: string, type: string, seq?: string) {
  const shard = await shardOf(r, arn);
  const out = await r.streams.send(
    new GetShardIteratorCommand({
      StreamArn: arn,
      ShardId: shard.ShardId,
      ShardIteratorType: type as 'LATEST',
      SequenceNumber: seq,
    }),
  );
  return out.ShardIterator!;
}

/** Every record from `it` on, page by page (Limit 2), until a page is empty. */
async function readAll(r: Replica, it: string): Promise<_Record[]> {
  const all: _Record[] = [];
  let next: string | undefined = it;
  while (next) {
    const page: GetRecordsCommandOutput = await r.streams.send(
      new GetRecordsCommand({ ShardIterator: next, Limit: 2 }),
    );
    all.push(...page.Records!);
    if (!page.Records!.length) break;
    next = page.NextShardIterator;
  }
  return all;
}

const summary = (rs: _Record[]) =>
  rs.map((r) => [
    r.eventName,
    r.dynamodb!.Keys!.p!.S,
    r.dynamodb!.OldImage && Object.keys(r.dynamodb!.OldImage).sort().join(','),
    r.dynamodb!.NewImage && Object.keys(r.dynamodb!.NewImage).sort().join(','),
  ]);

for (const kind of engineKinds.filter((k) => (process.env.TABLES_ENGINE ?? k) === k)) {
  describe(`DynamoDB Streams on ${kind}`, () => {
    let h: StreamsHarness;
    let r: Replica;
    before(async () => {
      const config = kind === 'sqlite' ? { engine: 'sqlite' as const } : await cqlConfig();
      h = await streamsHarness(config, {
        visibilityMs: 0,
        cleanup: async () => {
          if (config.engine === 'cql') await dropKeyspace(config).catch(() => dropKeyspace(config));
        },
      });
      r = await h.replica();
    });
    after(async () => {
      await h?.close();
    });

    test('CreateTable with a stream answers its ARN and label, as ListStreams and DescribeStream do', async () => {
      const { name, arn, desc } = await streamTable(r, 'KEYS_ONLY');
      assert.deepEqual(desc.StreamSpecification, {
        StreamEnabled: true,
        StreamViewType: 'KEYS_ONLY',
      });
      assert.match(desc.LatestStreamLabel!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
      assert.equal(
        arn,
        `arn:aws:dynamodb:us-east-1:000000000000:table/${name}/stream/${desc.LatestStreamLabel}`,
      );
      const table = await r.client.send(new DescribeTableCommand({ TableName: name }));
      assert.equal(table.Table!.LatestStreamArn, arn);
      const listed = await r.streams.send(new ListStreamsCommand({ TableName: name }));
      assert.deepEqual(listed.Streams, [
        { StreamArn: arn, TableName: name, StreamLabel: desc.LatestStreamLabel },
      ]);
      const d = (await r.streams.send(new DescribeStreamCommand({ StreamArn: arn })))
        .StreamDescription!;
      assert.equal(d.StreamStatus, 'ENABLED');
      assert.equal(d.StreamViewType, 'KEYS_ONLY');
      assert.equal(d.TableName, name);
      assert.deepEqual(d.KeySchema, [{ AttributeName: 'p', KeyType: 'HASH' }]);
      assert.equal(d.Shards!.length, 1);
      assert.match(d.Shards![0]!.SequenceNumberRange!.StartingSequenceNumber!, /^\d{21,40}$/);
      assert.equal(d.Shards![0]!.SequenceNumberRange!.EndingSequenceNumber, undefined);
      const none = await r.streams.send(
        new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: d.Shards![0]!.ShardId }),
      );
      assert.deepEqual(none.StreamDescription!.Shards, []);
    });

    test('one record per item-level change, in order: none for an unchanged put, a missing delete or a failed condition', async () => {
      const { name, arn } = await streamTable(r, 'NEW_AND_OLD_IMAGES');
      const it = await iterator(r, arn, 'TRIM_HORIZON');
      const put = (Item: Record<string, AttributeValue>) =>
        r.client.send(new PutItemCommand({ TableName: name, Item }));
      await put({ p: S('a'), x: N('1') }); // INSERT
      await put({ p: S('a'), x: N('1') }); // the same item: no record
      await put({ p: S('a'), y: N('2') }); // MODIFY
      await r.client.send(
        new UpdateItemCommand({
          TableName: name,
          Key: { p: S('a') },
          UpdateExpression: 'SET z = :z',
          ExpressionAttributeValues: { ':z': N('3') },
        }),
      ); // MODIFY
      await rejectsWith(
        r.client.send(
          new PutItemCommand({
            TableName: name,
            Item: { p: S('a') },
            ConditionExpression: 'attribute_not_exists(p)',
          }),
        ),
        'ConditionalCheckFailedException',
      );
      await r.client.send(
        new UpdateItemCommand({
          TableName: name,
          Key: { p: S('b') },
          UpdateExpression: 'SET q = :q',
          ExpressionAttributeValues: { ':q': N('1') },
        }),
      ); // an update that creates the item: INSERT
      await r.client.send(new DeleteItemCommand({ TableName: name, Key: { p: S('a') } })); // REMOVE
      await r.client.send(new DeleteItemCommand({ TableName: name, Key: { p: S('a') } })); // nothing
      await r.client.send(
        new BatchWriteItemCommand({
          RequestItems: { [name]: [{ PutRequest: { Item: { p: S('c') } } }] },
        }),
      ); // INSERT
      await r.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: name, Item: { p: S('d'), v: N('1') } } },
            { Delete: { TableName: name, Key: { p: S('b') } } },
          ],
        }),
      ); // INSERT d, REMOVE b
      const records = await readAll(r, it);
      assert.equal(records.length, 8);
      assert.deepEqual(summary(records.slice(0, 6)), [
        ['INSERT', 'a', undefined, 'p,x'],
        ['MODIFY', 'a', 'p,x', 'p,y'],
        ['MODIFY', 'a', 'p,y', 'p,y,z'],
        ['INSERT', 'b', undefined, 'p,q'],
        ['REMOVE', 'a', 'p,y,z', undefined],
        ['INSERT', 'c', undefined, 'p'],
      ]);
      // A transaction's records come together, in no order between its items.
      assert.deepEqual(
        summary(records.slice(6)).sort((x, y) => String(x[1]).localeCompare(String(y[1]))),
        [
          ['REMOVE', 'b', 'p,q', undefined],
          ['INSERT', 'd', undefined, 'p,v'],
        ],
      );
      const seqs = records.map((x) => BigInt(x.dynamodb!.SequenceNumber!));
      assert.deepEqual(
        [...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
        seqs,
      );
      assert.equal(new Set(seqs).size, seqs.length);
      for (const x of records) {
        assert.equal(x.eventVersion, '1.1');
        assert.equal(x.eventSource, 'aws:dynamodb');
        assert.equal(x.awsRegion, 'us-east-1');
        assert.match(x.eventID!, /^[0-9a-f]{32}$/);
        assert.ok(x.dynamodb!.ApproximateCreationDateTime instanceof Date);
        assert.ok(x.dynamodb!.SizeBytes! > 0);
        assert.equal(x.dynamodb!.StreamViewType, 'NEW_AND_OLD_IMAGES');
        assert.equal(x.userIdentity, undefined);
      }
    });

    test('each view type carries the images it names', async () => {
      for (const [view, old, next] of [
        ['KEYS_ONLY', false, false],
        ['NEW_IMAGE', false, true],
        ['OLD_IMAGE', true, false],
      ] as const) {
        const { name, arn } = await streamTable(r, view);
        const it = await iterator(r, arn, 'TRIM_HORIZON');
        await r.client.send(
          new PutItemCommand({ TableName: name, Item: { p: S('k'), a: N('1') } }),
        );
        await r.client.send(
          new PutItemCommand({ TableName: name, Item: { p: S('k'), a: N('2') } }),
        );
        const [, modify] = await readAll(r, it);
        assert.deepEqual(modify!.dynamodb!.Keys, { p: S('k') });
        assert.deepEqual(
          modify!.dynamodb!.OldImage,
          old ? { p: S('k'), a: N('1') } : undefined,
          view,
        );
        assert.deepEqual(
          modify!.dynamodb!.NewImage,
          next ? { p: S('k'), a: N('2') } : undefined,
          view,
        );
      }
    });

    test('LATEST, AT_SEQUENCE_NUMBER and AFTER_SEQUENCE_NUMBER start where they say; a read to the end answers an iterator that yields nothing until more is written', async () => {
      const { name, arn } = await streamTable(r, 'KEYS_ONLY');
      await r.client.send(new PutItemCommand({ TableName: name, Item: { p: S('before') } }));
      const latest = await iterator(r, arn, 'LATEST');
      await new Promise((res) => setTimeout(res, 10));
      await r.client.send(new PutItemCommand({ TableName: name, Item: { p: S('x'), n: N('1') } }));
      await r.client.send(new PutItemCommand({ TableName: name, Item: { p: S('x'), n: N('2') } }));
      const page = await readAtLeast(r, latest, 2);
      assert.deepEqual(
        page.records.map((x) => x.dynamodb!.Keys!.p!.S),
        ['x', 'x'],
      );
      const empty = await r.streams.send(new GetRecordsCommand({ ShardIterator: page.next }));
      assert.deepEqual(empty.Records, []);
      assert.ok(empty.NextShardIterator);
      const [first, second] = page.records;
      const at = await iterator(r, arn, 'AT_SEQUENCE_NUMBER', first!.dynamodb!.SequenceNumber);
      const fromAt = await r.streams.send(new GetRecordsCommand({ ShardIterator: at }));
      assert.deepEqual(
        fromAt.Records!.map((x) => x.dynamodb!.SequenceNumber),
        [first!.dynamodb!.SequenceNumber, second!.dynamodb!.SequenceNumber],
      );
      const afterIt = await iterator(
        r,
        arn,
        'AFTER_SEQUENCE_NUMBER',
        first!.dynamodb!.SequenceNumber,
      );
      const fromAfter = await r.streams.send(new GetRecordsCommand({ ShardIterator: afterIt }));
      assert.deepEqual(
        fromAfter.Records!.map((x) => x.dynamodb!.SequenceNumber),
        [second!.dynamodb!.SequenceNumber],
      );
      await r.client.send(new PutItemCommand({ TableName: name, Item: { p: S('y') } }));
      const more = await readAtLeast(r, empty.NextShardIterator!, 1);
      assert.deepEqual(
        more.records.map((x) => x.dynamodb!.Keys!.p!.S),
        ['y'],
      );
    });

    test('an iterator older than 15 minutes is ExpiredIteratorException; a sequence number past the 24 h retention is TrimmedDataAccessException', async () => {
      const { arn } = await streamTable(r, 'KEYS_ONLY');
      h.clock.offset = 0;
      const it = await iterator(r, arn, 'TRIM_HORIZON');
      h.clock.offset = 15 * 60 * 1000 + 1;
      await rejectsWith(
        r.streams.send(new GetRecordsCommand({ ShardIterator: it })),
        'ExpiredIteratorException',
        /^Iterator expired\./,
      );
      const shard = await shardOf(r, arn);
      const old = String(BigInt(Date.now() - 25 * 3600 * 1000) * 1_000_000_000n).padStart(22, '0');
      await rejectsWith(
        r.streams.send(
          new GetShardIteratorCommand({
            StreamArn: arn,
            ShardId: shard.ShardId,
            ShardIteratorType: 'AT_SEQUENCE_NUMBER',
            SequenceNumber: old,
          }),
        ),
        'TrimmedDataAccessException',
      );
      h.clock.offset = 0;
    });

    test('disabling and enabling again makes a new stream; the old one is DISABLED, its shard closed and read to its end', async () => {
      const { name, arn } = await streamTable(r, 'KEYS_ONLY');
      const it = await iterator(r, arn, 'TRIM_HORIZON');
      await r.client.send(new PutItemCommand({ TableName: name, Item: { p: S('one') } }));
      await r.client.send(
        new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: false } }),
      );
      await r.client.send(new PutItemCommand({ TableName: name, Item: { p: S('unrecorded') } }));
      const off = (await r.client.send(new DescribeTableCommand({ TableName: name }))).Table!;
      assert.deepEqual(off.StreamSpecification, { StreamEnabled: false });
      assert.equal(off.LatestStreamArn, arn);
      const on = await r.client.send(
        new UpdateTableCommand({
          TableName: name,
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
        }),
      );
      const arn2 = on.TableDescription!.LatestStreamArn!;
      assert.notEqual(arn2, arn);
      const d = (await r.streams.send(new DescribeStreamCommand({ StreamArn: arn })))
        .StreamDescription!;
      assert.equal(d.StreamStatus, 'DISABLED');
      assert.match(d.Shards![0]!.SequenceNumberRange!.EndingSequenceNumber!, /^\d+$/);
      const listed = await r.streams.send(new ListStreamsCommand({ TableName: name }));
      assert.deepEqual(
        listed.Streams!.map((s) => s.StreamArn),
        [arn, arn2],
      );
      h.clock.offset = 5000;
      const page = await r.streams.send(new GetRecordsCommand({ ShardIterator: it }));
      assert.deepEqual(
        page.Records!.map((x) => x.dynamodb!.Keys!.p!.S),
        ['one'],
      );
      const end = await r.streams.send(
        new GetRecordsCommand({ ShardIterator: page.NextShardIterator }),
      );
      assert.deepEqual(end.Records, []);
      assert.equal(end.NextShardIterator, undefined);
      h.clock.offset = 0;
    });

    test("UpdateTable and the Streams API refuse what DynamoDB refuses, in DynamoDB's words", async () => {
      const { name, arn } = await streamTable(r, 'KEYS_ONLY');
      const plain = await streamTable(r);
      await rejectsWith(
        r.client.send(
          new UpdateTableCommand({
            TableName: name,
            StreamSpecification: { StreamEnabled: true, StreamViewType: 'OLD_IMAGE' },
          }),
        ),
        'ValidationException',
        `Table already has an enabled stream: TableName: ${name}`,
      );
      await rejectsWith(
        r.client.send(
          new UpdateTableCommand({
            TableName: plain.name,
            StreamSpecification: { StreamEnabled: false },
          }),
        ),
        'ValidationException',
        `Table has no stream to disable: TableName: ${plain.name}`,
      );
      await rejectsWith(
        r.client.send(
          new UpdateTableCommand({
            TableName: plain.name,
            StreamSpecification: { StreamEnabled: true },
          }),
        ),
        'ValidationException',
        'One or more parameter values were invalid: If stream is being enabled then UpdateViewType is required',
      );
      await rejectsWith(
        r.client.send(
          new UpdateTableCommand({
            TableName: plain.name,
            StreamSpecification: { StreamEnabled: true, StreamViewType: 'Fisk' as 'KEYS_ONLY' },
          }),
        ),
        'ValidationException',
        "1 validation error detected: Value 'Fisk' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]",
      );
      assert.deepEqual(
        (await r.streams.send(new ListStreamsCommand({ TableName: plain.name }))).Streams,
        [],
      );
      await rejectsWith(
        r.streams.send(
          new DescribeStreamCommand({
            StreamArn: 'sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf',
          }),
        ),
        'ValidationException',
        'Invalid StreamArn',
      );
      await rejectsWith(
        r.streams.send(new DescribeStreamCommand({ StreamArn: `${arn.slice(0, -3)}999` })),
        'ResourceNotFoundException',
      );
      await rejectsWith(
        r.streams.send(
          new GetShardIteratorCommand({
            StreamArn: arn,
            ShardId: 'shardId-00000000000000000000-00000000',
            ShardIteratorType: 'LATEST',
          }),
        ),
        'ResourceNotFoundException',
      );
      const shard = await shardOf(r, arn);
      await rejectsWith(
        r.streams.send(
          new GetShardIteratorCommand({
            StreamArn: arn,
            ShardId: shard.ShardId,
            ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          }),
        ),
        'ValidationException',
      );
      const it = await iterator(r, arn, 'LATEST');
      await rejectsWith(
        r.streams.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1001 })),
        'ValidationException',
        "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
      );
      await rejectsWith(
        r.streams.send(
          new GetRecordsCommand({ ShardIterator: 'sdfsdfsgagaddafgagasgasgasdfasdfasdf' }),
        ),
        'ValidationException',
      );
      await rejectsWith(
        r.streams.send(new ListStreamsCommand({ Limit: 0 })),
        'ValidationException',
      );
    });

    test('ListStreams pages with Limit and ExclusiveStartStreamArn', async () => {
      const a = await streamTable(r, 'KEYS_ONLY', 'page-a');
      const b = await streamTable(r, 'KEYS_ONLY', 'page-b');
      const seen: string[] = [];
      let start: string | undefined;
      do {
        const page = await r.streams.send(
          new ListStreamsCommand({ Limit: 1, ExclusiveStartStreamArn: start }),
        );
        assert.ok(page.Streams!.length <= 1);
        seen.push(...page.Streams!.map((s) => s.StreamArn!));
        start = page.LastEvaluatedStreamArn;
      } while (start);
      assert.ok(seen.includes(a.arn) && seen.includes(b.arn));
      assert.equal(new Set(seen).size, seen.length);
    });

    test('several replicas serve one stream: writes through each, read in order through another', async () => {
      const r2 = await h.replica();
      const { name, arn } = await streamTable(r, 'NEW_IMAGE');
      const it = await iterator(r2, arn, 'TRIM_HORIZON');
      for (let i = 0; i < 6; i++) {
        const via = i % 2 ? r2 : r;
        await via.client.send(
          new PutItemCommand({ TableName: name, Item: { p: S('same'), n: N(String(i)) } }),
        );
      }
      h.clock.offset = 5000;
      const records = await readAll(r2, it);
      assert.deepEqual(
        records.map((x) => x.dynamodb!.NewImage!.n!.N),
        ['0', '1', '2', '3', '4', '5'],
      );
      assert.deepEqual(
        records.map((x) => x.eventName),
        ['INSERT', 'MODIFY', 'MODIFY', 'MODIFY', 'MODIFY', 'MODIFY'],
      );
      h.clock.offset = 0;
    });
  });
}
