// Local secondary indexes, item collections and the GSI key checks of every write,
// through the real AWS SDK against a real server, on sqlite and on CQL (a real
// Cassandra). The messages are DynamoDB's, as dynalite and Alternator's tests
// record them from real responses.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { collectionBytes } from './storage/indexes.ts';
import {
  cqlConfig,
  engineKinds,
  rejectsWith,
  startHarness,
  type Harness,
} from '../test/support/tables.ts';

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });
const invalid = 'One or more parameter values were invalid: ';
type Item = Record<string, AttributeValue>;

const threads = {
  TableName: 'threads',
  AttributeDefinitions: [
    { AttributeName: 'forum', AttributeType: 'S' as const },
    { AttributeName: 'subject', AttributeType: 'S' as const },
    { AttributeName: 'posted', AttributeType: 'S' as const },
    { AttributeName: 'votes', AttributeType: 'N' as const },
    { AttributeName: 'title', AttributeType: 'S' as const },
  ],
  KeySchema: [
    { AttributeName: 'forum', KeyType: 'HASH' as const },
    { AttributeName: 'subject', KeyType: 'RANGE' as const },
  ],
  LocalSecondaryIndexes: [
    {
      IndexName: 'by-posted',
      KeySchema: [
        { AttributeName: 'forum', KeyType: 'HASH' as const },
        { AttributeName: 'posted', KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'ALL' as const },
    },
    {
      IndexName: 'by-votes',
      KeySchema: [
        { AttributeName: 'forum', KeyType: 'HASH' as const },
        { AttributeName: 'votes', KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' as const },
    },
    {
      IndexName: 'by-title',
      KeySchema: [
        { AttributeName: 'forum', KeyType: 'HASH' as const },
        { AttributeName: 'title', KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: ['author'] },
    },
  ],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

const thread = (forum: string, subject: string, posted: string, votes: string): Item => ({
  forum: S(forum),
  subject: S(subject),
  posted: S(posted),
  votes: N(votes),
  title: S(`title ${subject}`),
  author: S(`author ${subject}`),
  body: S(`body ${subject}`),
});
const subjects = (items: Item[] | undefined) => (items ?? []).map((i) => i.subject!.S!);

for (const kind of engineKinds) {
  describe(`secondary indexes on ${kind}`, () => {
    let h: Harness;
    const query = (index: string, extra: Partial<QueryCommandInput> = {}) =>
      h.client.send(
        new QueryCommand({
          TableName: 'threads',
          IndexName: index,
          KeyConditionExpression: 'forum = :f',
          ExpressionAttributeValues: { ':f': S('db') },
          ...extra,
        }),
      );

    before(async () => {
      h = await startHarness(kind);
      await h.client.send(new CreateTableCommand(threads));
      const items = [
        thread('db', 's1', '2024-03', '5'),
        thread('db', 's2', '2024-01', '-2'),
        thread('db', 's3', '2024-02', '40'),
        thread('web', 's1', '2023-01', '1'),
      ];
      // Sparse: no posted attribute, so not in by-posted.
      const { posted: _, ...unposted } = thread('db', 's4', '', '7');
      for (const Item of [...items, unposted]) {
        await h.client.send(new PutItemCommand({ TableName: 'threads', Item }));
      }
    });
    after(async () => {
      await h?.close();
    });

    test('CreateTable takes local indexes and DescribeTable lists them with ARNs and sizes', async () => {
      const { Table } = await h.client.send(new DescribeTableCommand({ TableName: 'threads' }));
      const lsis = Table!.LocalSecondaryIndexes!;
      assert.deepEqual(
        lsis.map((l) => l.IndexName),
        ['by-posted', 'by-votes', 'by-title'],
      );
      assert.deepEqual(lsis[0]!.KeySchema, threads.LocalSecondaryIndexes[0]!.KeySchema);
      assert.deepEqual(lsis[2]!.Projection, {
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: ['author'],
      });
      assert.match(lsis[1]!.IndexArn!, /:table\/threads\/index\/by-votes$/);
      for (const l of lsis) {
        assert.equal(typeof l.IndexSizeBytes, 'number');
        assert.equal(typeof l.ItemCount, 'number');
        assert.equal((l as { IndexStatus?: string }).IndexStatus, undefined, 'LSIs have no status');
      }
      if (kind === 'sqlite') assert.equal(lsis[0]!.ItemCount, 4);
      assert.equal(Table!.GlobalSecondaryIndexes, undefined);
    });

    test('Query on an LSI reads one item collection in index order, consistently if asked', async () => {
      const all = await query('by-posted', { ConsistentRead: true });
      assert.deepEqual(subjects(all.Items), ['s2', 's3', 's1']);
      assert.deepEqual(all.Items![0], thread('db', 's2', '2024-01', '-2'));
      const back = await query('by-votes', { ScanIndexForward: false, ConsistentRead: true });
      assert.deepEqual(subjects(back.Items), ['s3', 's4', 's1', 's2']);
      const ranged = await query('by-posted', {
        KeyConditionExpression: 'forum = :f AND posted BETWEEN :a AND :b',
        ExpressionAttributeValues: { ':f': S('db'), ':a': S('2024-02'), ':b': S('2024-12') },
      });
      assert.deepEqual(subjects(ranged.Items), ['s3', 's1']);
      const web = await query('by-posted', { ExpressionAttributeValues: { ':f': S('web') } });
      assert.deepEqual(subjects(web.Items), ['s1']);
    });

    test('an LSI answers what it projects, and fetches unprojected attributes from the table', async () => {
      const keys = await query('by-votes', {
        KeyConditionExpression: 'forum = :f AND votes = :v',
        ExpressionAttributeValues: { ':f': S('db'), ':v': N('5') },
      });
      assert.deepEqual(keys.Items, [{ forum: S('db'), subject: S('s1'), votes: N('5') }]);
      const whole = await query('by-votes', {
        KeyConditionExpression: 'forum = :f AND votes = :v',
        ExpressionAttributeValues: { ':f': S('db'), ':v': N('5') },
        Select: 'ALL_ATTRIBUTES',
      });
      assert.deepEqual(whole.Items, [thread('db', 's1', '2024-03', '5')]);
      const body = await query('by-votes', {
        ProjectionExpression: 'subject, body',
        Limit: 1,
      });
      assert.deepEqual(body.Items, [{ subject: S('s2'), body: S('body s2') }]);
      const included = await query('by-title', {
        KeyConditionExpression: 'forum = :f AND title = :t',
        ExpressionAttributeValues: { ':f': S('db'), ':t': S('title s3') },
      });
      assert.deepEqual(included.Items, [
        { forum: S('db'), subject: S('s3'), title: S('title s3'), author: S('author s3') },
      ]);
      const filtered = await query('by-title', {
        FilterExpression: 'body = :b',
        ExpressionAttributeValues: { ':f': S('db'), ':b': S('body s2') },
      });
      assert.deepEqual(subjects(filtered.Items), ['s2']);
      assert.equal(filtered.Items![0]!.body, undefined, 'the result keeps the index projection');
      const scanned = await h.client.send(
        new ScanCommand({ TableName: 'threads', IndexName: 'by-votes', Select: 'ALL_ATTRIBUTES' }),
      );
      assert.equal(scanned.Count, 5);
      assert.ok(scanned.Items!.every((i) => i.body !== undefined));
    });

    test('Scan of the table sees each item once, Scan of an LSI each indexed item once', async () => {
      const table = await h.client.send(new ScanCommand({ TableName: 'threads' }));
      assert.equal(table.Count, 5);
      assert.ok(table.Items!.every((i) => i.body !== undefined));
      const index = await h.client.send(
        new ScanCommand({ TableName: 'threads', IndexName: 'by-posted', ConsistentRead: true }),
      );
      assert.deepEqual(subjects(index.Items).sort(), ['s1', 's1', 's2', 's3']);
      const seen: string[] = [];
      for (let segment = 0; segment < 3; segment++) {
        let start: Item | undefined;
        do {
          const page = await h.client.send(
            new ScanCommand({
              TableName: 'threads',
              Segment: segment,
              TotalSegments: 3,
              Limit: 1,
              ExclusiveStartKey: start,
            }),
          );
          seen.push(...(page.Items ?? []).map((i) => `${i.forum!.S}/${i.subject!.S}`));
          start = page.LastEvaluatedKey;
        } while (start);
      }
      assert.deepEqual(seen.sort(), ['db/s1', 'db/s2', 'db/s3', 'db/s4', 'web/s1']);
    });

    test('writes keep LSIs current and pages carry index + table keys', async () => {
      const t = 'threads';
      await h.client.send(new PutItemCommand({ TableName: t, Item: thread('w', 'a', '3', '1') }));
      await h.client.send(new PutItemCommand({ TableName: t, Item: thread('w', 'b', '2', '2') }));
      await h.client.send(
        new UpdateItemCommand({
          TableName: t,
          Key: { forum: S('w'), subject: S('a') },
          UpdateExpression: 'SET posted = :p',
          ExpressionAttributeValues: { ':p': S('1') },
        }),
      );
      const w = (index: string, extra: Partial<QueryCommandInput> = {}) =>
        query(index, { ExpressionAttributeValues: { ':f': S('w') }, ...extra });
      assert.deepEqual(subjects((await w('by-posted')).Items), ['a', 'b']);
      await h.client.send(
        new UpdateItemCommand({
          TableName: t,
          Key: { forum: S('w'), subject: S('a') },
          UpdateExpression: 'REMOVE posted',
        }),
      );
      assert.deepEqual(subjects((await w('by-posted')).Items), ['b']);
      await h.client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [t]: [
              { PutRequest: { Item: thread('w', 'c', '0', '3') } },
              { DeleteRequest: { Key: { forum: S('w'), subject: S('b') } } },
            ],
          },
        }),
      );
      assert.deepEqual(subjects((await w('by-posted')).Items), ['c']);
      const pages: string[][] = [];
      let start: Item | undefined;
      do {
        const page: QueryCommandOutput = await w('by-votes', {
          Limit: 1,
          ExclusiveStartKey: start,
        });
        pages.push(subjects(page.Items));
        start = page.LastEvaluatedKey;
        if (start) assert.deepEqual(Object.keys(start).sort(), ['forum', 'subject', 'votes']);
      } while (start);
      assert.deepEqual(pages.flat(), ['a', 'c']);
      await h.client.send(
        new DeleteItemCommand({ TableName: t, Key: { forum: S('w'), subject: S('c') } }),
      );
      assert.deepEqual(subjects((await w('by-votes')).Items), ['a']);
    });

    test('ReturnItemCollectionMetrics SIZE answers on tables with LSIs, and only there', async () => {
      const metrics = {
        ItemCollectionKey: { forum: S('m') },
        SizeEstimateRangeGB: [0, 1],
      };
      const put = await h.client.send(
        new PutItemCommand({
          TableName: 'threads',
          Item: thread('m', 'x', '1', '1'),
          ReturnItemCollectionMetrics: 'SIZE',
        }),
      );
      assert.deepEqual(put.ItemCollectionMetrics, metrics);
      const update = await h.client.send(
        new UpdateItemCommand({
          TableName: 'threads',
          Key: { forum: S('m'), subject: S('x') },
          UpdateExpression: 'SET votes = :v',
          ExpressionAttributeValues: { ':v': N('2') },
          ReturnItemCollectionMetrics: 'SIZE',
        }),
      );
      assert.deepEqual(update.ItemCollectionMetrics, metrics);
      const batch = await h.client.send(
        new BatchWriteItemCommand({
          RequestItems: {
            threads: [
              { PutRequest: { Item: thread('m', 'y', '2', '2') } },
              { PutRequest: { Item: thread('n', 'y', '2', '2') } },
            ],
          },
          ReturnItemCollectionMetrics: 'SIZE',
        }),
      );
      assert.deepEqual(batch.ItemCollectionMetrics, {
        threads: [metrics, { ...metrics, ItemCollectionKey: { forum: S('n') } }],
      });
      const del = await h.client.send(
        new DeleteItemCommand({
          TableName: 'threads',
          Key: { forum: S('m'), subject: S('x') },
          ReturnItemCollectionMetrics: 'SIZE',
        }),
      );
      assert.deepEqual(del.ItemCollectionMetrics, metrics);
      const transact = await h.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: 'threads', Item: thread('m', 'z', '3', '3') } },
            {
              Update: {
                TableName: 'threads',
                Key: { forum: S('m'), subject: S('y') },
                UpdateExpression: 'SET votes = :v',
                ExpressionAttributeValues: { ':v': N('4') },
              },
            },
            {
              ConditionCheck: {
                TableName: 'threads',
                Key: { forum: S('o'), subject: S('y') },
                ConditionExpression: 'attribute_not_exists(forum)',
              },
            },
            { Delete: { TableName: 'threads', Key: { forum: S('n'), subject: S('y') } } },
          ],
          ReturnItemCollectionMetrics: 'SIZE',
        }),
      );
      // One entry per collection written; a ConditionCheck writes none.
      assert.deepEqual(transact.ItemCollectionMetrics, {
        threads: [metrics, { ...metrics, ItemCollectionKey: { forum: S('n') } }],
      });
      const none = await h.client.send(
        new PutItemCommand({
          TableName: 'threads',
          Item: thread('m', 'x', '1', '1'),
          ReturnItemCollectionMetrics: 'NONE',
        }),
      );
      assert.equal(none.ItemCollectionMetrics, undefined);
      await h.client.send(
        new CreateTableCommand({
          TableName: 'plain',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      const plain = await h.client.send(
        new PutItemCommand({
          TableName: 'plain',
          Item: { id: S('a') },
          ReturnItemCollectionMetrics: 'SIZE',
        }),
      );
      assert.equal(plain.ItemCollectionMetrics, undefined);
    });

    test('parallel writes to one item collection keep its LSI rows and size exact', async () => {
      const writes = Array.from({ length: 30 }, (_, i) =>
        h.client.send(
          new UpdateItemCommand({
            TableName: 'threads',
            Key: { forum: S('hot'), subject: S(`s${i % 10}`) },
            UpdateExpression: 'SET votes = if_not_exists(votes, :zero) + :one',
            ExpressionAttributeValues: { ':zero': N('0'), ':one': N('1') },
          }),
        ),
      );
      await Promise.all(writes);
      const votes = await query('by-votes', {
        ExpressionAttributeValues: { ':f': S('hot') },
        ConsistentRead: true,
      });
      assert.equal(votes.Count, 10, 'one index row per item, none left behind');
      assert.ok(votes.Items!.every((i) => i.votes!.N === '3'));
      const meta = (await h.engine.getTable('threads'))!;
      const size = await h.engine.collectionSize(meta, Buffer.from('hot'));
      // A lost update of the size row would leave it below the sum.
      const items = await h.client.send(
        new QueryCommand({
          TableName: 'threads',
          KeyConditionExpression: 'forum = :f',
          ExpressionAttributeValues: { ':f': S('hot') },
          ConsistentRead: true,
        }),
      );
      const want = items.Items!.reduce((n, i) => n + collectionBytes(meta, i as never), 0);
      assert.ok(want > 0);
      assert.equal(size, want);
    });

    test('CreateTable refuses bad local indexes with DynamoDB messages', async () => {
      const create = (extra: Record<string, unknown>) =>
        h.client.send(new CreateTableCommand({ ...threads, TableName: 'bad-lsi', ...extra }));
      const lsi = (name: string, hash: string, range?: string) => ({
        IndexName: name,
        KeySchema: [
          { AttributeName: hash, KeyType: 'HASH' },
          ...(range ? [{ AttributeName: range, KeyType: 'RANGE' }] : []),
        ],
        Projection: { ProjectionType: 'ALL' },
      });
      await rejectsWith(
        create({
          KeySchema: [{ AttributeName: 'forum', KeyType: 'HASH' }],
          AttributeDefinitions: threads.AttributeDefinitions.slice(0, 3).filter(
            (d) => d.AttributeName !== 'subject',
          ),
          LocalSecondaryIndexes: [lsi('by-posted', 'forum', 'posted')],
        }),
        'ValidationException',
        `${invalid}Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex`,
      );
      await rejectsWith(
        create({ LocalSecondaryIndexes: [] }),
        'ValidationException',
        `${invalid}List of LocalSecondaryIndexes is empty`,
      );
      await rejectsWith(
        create({ LocalSecondaryIndexes: [lsi('by-posted', 'subject', 'posted')] }),
        'ValidationException',
        `${invalid}Index KeySchema does not have the same leading hash key as table KeySchema for index: by-posted. index hash key: subject, table hash key: forum`,
      );
      await rejectsWith(
        create({ LocalSecondaryIndexes: [lsi('by-posted', 'forum')] }),
        'ValidationException',
        `${invalid}Index KeySchema does not have a range key for index: by-posted`,
      );
      await rejectsWith(
        create({ LocalSecondaryIndexes: [lsi('by-x', 'forum', 'x')] }),
        'ValidationException',
        `${invalid}Some index key attributes are not defined in AttributeDefinitions. Keys: [forum, x], AttributeDefinitions: [forum, subject, posted, votes, title]`,
      );
      await rejectsWith(
        create({
          LocalSecondaryIndexes: [lsi('twice', 'forum', 'posted'), lsi('twice', 'forum', 'votes')],
        }),
        'ValidationException',
        `${invalid}Duplicate index name: twice`,
      );
      await rejectsWith(
        create({
          LocalSecondaryIndexes: Array.from({ length: 6 }, (_, i) =>
            lsi(`lsi${i}`, 'forum', ['posted', 'votes', 'title'][i % 3]),
          ),
        }),
        'ValidationException',
        `${invalid}Number of LocalSecondaryIndexes exceeds per-table limit of 5`,
      );
      await rejectsWith(
        create({
          LocalSecondaryIndexes: [lsi('same', 'forum', 'posted')],
          GlobalSecondaryIndexes: [lsi('same', 'votes')],
        }),
        'ValidationException',
        `${invalid}Duplicate index name: same`,
      );
      await rejectsWith(
        query('by-votes', { TableName: 'threads', IndexName: 'nope' }),
        'ValidationException',
        'The table does not have the specified index: nope',
      );
    });
  });

  describe(`GSI key values on every write on ${kind}`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(kind);
      await h.client.send(
        new CreateTableCommand({
          TableName: 'gsi-keys',
          AttributeDefinitions: [
            { AttributeName: 'id', AttributeType: 'S' },
            { AttributeName: 'gsi_pk', AttributeType: 'S' },
            { AttributeName: 'gsi_sk', AttributeType: 'N' },
            { AttributeName: 'bin', AttributeType: 'B' },
          ],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          GlobalSecondaryIndexes: [
            {
              IndexName: 'gsi1',
              KeySchema: [
                { AttributeName: 'gsi_pk', KeyType: 'HASH' },
                { AttributeName: 'gsi_sk', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'ALL' },
            },
            {
              IndexName: 'gsi2',
              KeySchema: [
                { AttributeName: 'id', KeyType: 'HASH' },
                { AttributeName: 'bin', KeyType: 'RANGE' },
              ],
              Projection: { ProjectionType: 'KEYS_ONLY' },
            },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    });
    after(async () => {
      await h?.close();
    });
    const put = (Item: Item) => h.client.send(new PutItemCommand({ TableName: 'gsi-keys', Item }));

    test('an index key of the wrong type, empty or too long is refused, not left out', async () => {
      await rejectsWith(
        put({ id: S('a'), gsi_pk: N('1') }),
        'ValidationException',
        `${invalid}Type mismatch for Index Key gsi_pk Expected: S Actual: N IndexName: gsi1`,
      );
      await rejectsWith(
        put({ id: S('a'), gsi_pk: S('x'), gsi_sk: S('1') }),
        'ValidationException',
        `${invalid}Type mismatch for Index Key gsi_sk Expected: N Actual: S IndexName: gsi1`,
      );
      await rejectsWith(
        put({ id: S('a'), gsi_pk: S('') }),
        'ValidationException',
        'One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: gsi1, IndexKey: gsi_pk',
      );
      await rejectsWith(
        put({ id: S('a'), bin: { B: new Uint8Array() } }),
        'ValidationException',
        'One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty binary value. IndexName: gsi2, IndexKey: bin',
      );
      await rejectsWith(
        put({ id: S('a'), gsi_pk: S('x'.repeat(2049)) }),
        'ValidationException',
        `${invalid}Size of hashkey has exceeded the maximum size limit of2048 bytes`,
      );
      await rejectsWith(
        put({ id: S('a'), bin: { B: new Uint8Array(1025) } }),
        'ValidationException',
        `${invalid}Aggregated size of all range keys has exceeded the size limit of 1024 bytes`,
      );
      await rejectsWith(
        h.client.send(
          new UpdateItemCommand({
            TableName: 'gsi-keys',
            Key: { id: S('a') },
            UpdateExpression: 'SET gsi_pk = :v',
            ExpressionAttributeValues: { ':v': { BOOL: true } },
          }),
        ),
        'ValidationException',
        `${invalid}Type mismatch for Index Key gsi_pk Expected: S Actual: BOOL IndexName: gsi1`,
      );
      await rejectsWith(
        h.client.send(
          new BatchWriteItemCommand({
            RequestItems: {
              'gsi-keys': [
                { PutRequest: { Item: { id: S('ok') } } },
                { PutRequest: { Item: { id: S('b'), gsi_pk: { L: [] } } } },
              ],
            },
          }),
        ),
        'ValidationException',
        `${invalid}Type mismatch for Index Key gsi_pk Expected: S Actual: L IndexName: gsi1`,
      );
      const scan = await h.client.send(new ScanCommand({ TableName: 'gsi-keys' }));
      assert.equal(scan.Count, 0, 'nothing refused was written, not even the good batch item');
      // The largest keys DynamoDB takes, and an absent index key (sparse), are fine.
      await put({ id: S('a'), gsi_pk: S('x'.repeat(2048)), gsi_sk: N('1') });
      await put({ id: S('c'), bin: { B: new Uint8Array(1024).fill(1) } });
      await put({ id: S('d'), note: S('') });
      const all = await h.client.send(
        new ScanCommand({ TableName: 'gsi-keys', IndexName: 'gsi1' }),
      );
      assert.equal(all.Count, 1);
    });
  });

  describe(`the item collection limit on ${kind}`, () => {
    let h: Harness;
    before(async () => {
      const limit = 10_000;
      h = await startHarness(kind, {
        config:
          kind === 'sqlite'
            ? { engine: 'sqlite', maxItemCollectionBytes: limit }
            : await cqlConfig({ maxItemCollectionBytes: limit }),
      });
      await h.client.send(new CreateTableCommand(threads));
    });
    after(async () => {
      await h?.close();
    });

    test('a write that grows a full item collection is refused with ItemCollectionSizeLimitExceededException', async () => {
      const big = (subject: string) => ({
        ...thread('full', subject, '1', '1'),
        body: S('x'.repeat(400)),
      });
      const meta = (await h.engine.getTable('threads'))!;
      const fit = Math.floor(10_000 / collectionBytes(meta, big('a') as never));
      assert.ok(fit >= 3);
      const names = Array.from({ length: fit }, (_, i) => `s${i}`);
      for (const s of names) {
        await h.client.send(new PutItemCommand({ TableName: 'threads', Item: big(s) }));
      }
      await rejectsWith(
        h.client.send(new PutItemCommand({ TableName: 'threads', Item: big('d') })),
        'ItemCollectionSizeLimitExceededException',
        'Collection size exceeded.',
      );
      // Another collection is not affected; shrinking and deleting are allowed.
      await h.client.send(
        new PutItemCommand({ TableName: 'threads', Item: { ...big('x'), forum: S('other') } }),
      );
      await h.client.send(
        new PutItemCommand({ TableName: 'threads', Item: thread('full', 's0', '1', '1') }),
      );
      await h.client.send(
        new DeleteItemCommand({
          TableName: 'threads',
          Key: { forum: S('full'), subject: S('s1') },
        }),
      );
      await h.client.send(new PutItemCommand({ TableName: 'threads', Item: big('d') }));
      const rows = await h.client.send(
        new QueryCommand({
          TableName: 'threads',
          KeyConditionExpression: 'forum = :f',
          ExpressionAttributeValues: { ':f': S('full') },
          ConsistentRead: true,
        }),
      );
      assert.deepEqual(
        subjects(rows.Items).sort(),
        ['d', ...names.filter((n) => n !== 's1')].sort(),
      );
    });
  });
}
