// ReturnConsumedCapacity with INDEXES, through the real AWS SDK against a real
// server on sqlite and on CQL (a real Cassandra): writes charge each index the
// write units of its projected row (two when the item's index key moves: the old
// row removed, the new one put), reads on an index charge the index, and an LSI's
// fetch of unprojected attributes adds the table's read units.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { engineKinds, startHarness, type Harness } from '../test/support/tables.ts';

const S = (s: string): AttributeValue => ({ S: s });

const orders = {
  TableName: 'orders',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const },
    { AttributeName: 'sk', AttributeType: 'S' as const },
    { AttributeName: 'status', AttributeType: 'S' as const },
    { AttributeName: 'date', AttributeType: 'S' as const },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: 'by-status',
      KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' as const }],
      Projection: { ProjectionType: 'ALL' as const },
    },
  ],
  LocalSecondaryIndexes: [
    {
      IndexName: 'by-date',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' as const },
        { AttributeName: 'date', KeyType: 'RANGE' as const },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' as const },
    },
  ],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

// pk(2+1) + sk(2+1) + status(6+4) + date(4+4) + blob(4+2000) = 2028 bytes: 2 write
// units on the table and on the ALL-projected GSI; the KEYS_ONLY LSI row
// (pk, sk, date: 14 bytes) is 1.
const big = {
  pk: S('a'),
  sk: S('1'),
  status: S('open'),
  date: S('2024'),
  blob: S('x'.repeat(2000)),
};

for (const kind of engineKinds) {
  describe(`ReturnConsumedCapacity INDEXES on ${kind}`, () => {
    let h: Harness;

    before(async () => {
      h = await startHarness(kind);
      await h.client.send(new CreateTableCommand(orders));
    });
    after(async () => {
      await h?.close();
    });

    test('PutItem charges each index the write units of its projected row', async () => {
      const out = await h.client.send(
        new PutItemCommand({ TableName: 'orders', Item: big, ReturnConsumedCapacity: 'INDEXES' }),
      );
      assert.deepEqual(out.ConsumedCapacity, {
        TableName: 'orders',
        CapacityUnits: 5,
        Table: { CapacityUnits: 2 },
        GlobalSecondaryIndexes: { 'by-status': { CapacityUnits: 2 } },
        LocalSecondaryIndexes: { 'by-date': { CapacityUnits: 1 } },
      });
    });

    test('TOTAL gives the sum of table and index units without the breakdown', async () => {
      const out = await h.client.send(
        new PutItemCommand({
          TableName: 'orders',
          Item: { pk: S('b'), sk: S('1'), status: S('open'), date: S('2024') },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      assert.deepEqual(out.ConsumedCapacity, { TableName: 'orders', CapacityUnits: 3 });
    });

    test('an update that moves the GSI key costs 2 on it and nothing on an unchanged LSI row', async () => {
      const out = await h.client.send(
        new UpdateItemCommand({
          TableName: 'orders',
          Key: { pk: S('b'), sk: S('1') },
          UpdateExpression: 'SET #s = :s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': S('shipped') },
          ReturnConsumedCapacity: 'INDEXES',
        }),
      );
      assert.deepEqual(out.ConsumedCapacity, {
        TableName: 'orders',
        CapacityUnits: 3,
        Table: { CapacityUnits: 1 },
        GlobalSecondaryIndexes: { 'by-status': { CapacityUnits: 2 } },
      });
    });

    test('an update of a projected non-key attribute rewrites the GSI row once', async () => {
      const out = await h.client.send(
        new UpdateItemCommand({
          TableName: 'orders',
          Key: { pk: S('b'), sk: S('1') },
          UpdateExpression: 'SET note = :n',
          ExpressionAttributeValues: { ':n': S('fragile') },
          ReturnConsumedCapacity: 'INDEXES',
        }),
      );
      assert.deepEqual(out.ConsumedCapacity, {
        TableName: 'orders',
        CapacityUnits: 2,
        Table: { CapacityUnits: 1 },
        GlobalSecondaryIndexes: { 'by-status': { CapacityUnits: 1 } },
      });
    });

    test('Query on a GSI charges the index and not the table', async () => {
      const out = await h.client.send(
        new QueryCommand({
          TableName: 'orders',
          IndexName: 'by-status',
          KeyConditionExpression: '#s = :s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': S('open') },
          ReturnConsumedCapacity: 'INDEXES',
        }),
      );
      assert.equal(out.Count, 1);
      assert.deepEqual(out.ConsumedCapacity, {
        TableName: 'orders',
        CapacityUnits: 0.5,
        Table: { CapacityUnits: 0 },
        GlobalSecondaryIndexes: { 'by-status': { CapacityUnits: 0.5 } },
      });
    });

    test('Query on an LSI fetching unprojected attributes adds the table read units', async () => {
      const out = await h.client.send(
        new QueryCommand({
          TableName: 'orders',
          IndexName: 'by-date',
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': S('a') },
          Select: 'ALL_ATTRIBUTES',
          ConsistentRead: true,
          ReturnConsumedCapacity: 'INDEXES',
        }),
      );
      assert.equal(out.Items?.[0]?.blob?.S?.length, 2000);
      assert.deepEqual(out.ConsumedCapacity, {
        TableName: 'orders',
        CapacityUnits: 2,
        Table: { CapacityUnits: 1 },
        LocalSecondaryIndexes: { 'by-date': { CapacityUnits: 1 } },
      });
    });

    test('Scan of an LSI without fetches charges only the index', async () => {
      const out = await h.client.send(
        new ScanCommand({
          TableName: 'orders',
          IndexName: 'by-date',
          ReturnConsumedCapacity: 'INDEXES',
        }),
      );
      assert.equal(out.Count, 2);
      assert.deepEqual(out.ConsumedCapacity, {
        TableName: 'orders',
        CapacityUnits: 0.5,
        Table: { CapacityUnits: 0 },
        LocalSecondaryIndexes: { 'by-date': { CapacityUnits: 0.5 } },
      });
    });

    test('DeleteItem charges the removal of every index row', async () => {
      const out = await h.client.send(
        new DeleteItemCommand({
          TableName: 'orders',
          Key: { pk: S('a'), sk: S('1') },
          ReturnValues: 'ALL_OLD',
          ReturnConsumedCapacity: 'INDEXES',
        }),
      );
      assert.deepEqual(out.ConsumedCapacity, {
        TableName: 'orders',
        CapacityUnits: 5,
        Table: { CapacityUnits: 2 },
        GlobalSecondaryIndexes: { 'by-status': { CapacityUnits: 2 } },
        LocalSecondaryIndexes: { 'by-date': { CapacityUnits: 1 } },
      });
    });
  });
}
