// The official DAX clients (@amazon-dax-sdk/client-dax and its document client
// @amazon-dax-sdk/lib-dax, unchanged) against the table service's DAX endpoint on
// sqlite: discovery, authentication, the item, query and batch calls, the read
// cache, and DynamoDB's exceptions as the client names them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Dax } from '@amazon-dax-sdk/client-dax';
import { DaxDocument } from '@amazon-dax-sdk/lib-dax';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sdkClient } from '../../test/support/tables.ts';
import { openEngine } from '../engine.ts';
import { startTablesServer, type TablesServer } from '../server.ts';
import type { StorageEngine } from '../storage/engine.ts';
import { storageKey } from '../actions/context.ts';
import { itemTtlTag } from '../cache/read-cache.ts';
import { AttributeLists } from './values.ts';
import { connect } from 'node:net';
import { makeLogger } from '../../lib/log.ts';
import { CborReader, CborWriter, NeedMore } from './cbor.ts';
import { startDaxServer } from './server.ts';

const credentials = { accessKeyId: 'dax-key', secretAccessKey: 'dax-secret' };

let engine: StorageEngine;
let server: TablesServer;
let sdk: DynamoDBClient;
let dax: Dax;

function daxClient(creds = credentials) {
  return new Dax({
    endpoint: `dax://127.0.0.1:${server.dax!.port}`,
    region: 'us-east-1',
    credentials: creds,
    // The client's default of one retry is also what carries a first call over the
    // moment between discovery and its first connected node (a NoRouteException).
  });
}

before(async () => {
  engine = await openEngine({ engine: 'sqlite' });
  server = await startTablesServer({
    engine,
    daxPort: 0,
    cache: { defaults: { itemTtlSeconds: 0, queryTtlSeconds: 0 }, maxBytes: 1 << 20 },
    auth: { credentials: { [credentials.accessKeyId]: credentials.secretAccessKey } },
  });
  sdk = sdkClient(server.url, credentials);
  await sdk.send(
    new CreateTableCommand({
      TableName: 'orders',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'customer', AttributeType: 'S' },
        { AttributeName: 'seq', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'customer', KeyType: 'HASH' },
        { AttributeName: 'seq', KeyType: 'RANGE' },
      ],
    }),
  );
  await sdk.send(
    new CreateTableCommand({
      TableName: 'users',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  await sdk.send(
    new CreateTableCommand({
      TableName: 'cached',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      Tags: [{ Key: itemTtlTag, Value: '300' }],
    }),
  );
  await sdk.send(
    new CreateTableCommand({
      TableName: 'events',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'kind', AttributeType: 'S' },
        { AttributeName: 'at', AttributeType: 'N' },
      ],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byKind',
          KeySchema: [
            { AttributeName: 'kind', KeyType: 'HASH' },
            { AttributeName: 'at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await sdk.send(
    new CreateTableCommand({
      TableName: 'blobs',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'h', AttributeType: 'B' },
        { AttributeName: 'r', AttributeType: 'B' },
      ],
      KeySchema: [
        { AttributeName: 'h', KeyType: 'HASH' },
        { AttributeName: 'r', KeyType: 'RANGE' },
      ],
    }),
  );
  dax = daxClient();
});

/** Dax.shutdown() exists (src/Dax.js) but its types leave it out. */
const shutdown = (client: Dax) => (client as unknown as { shutdown(): void }).shutdown();

after(async () => {
  shutdown(dax);
  sdk.destroy();
  await server.close();
  await engine.close();
});

test('an attribute list id numbered by another process is unknown, not another list', () => {
  const before = new AttributeLists();
  const now = new AttributeLists();
  const id = before.idOf(['a', 'b']);
  assert.equal(now.namesOf(id), undefined);
  assert.notEqual(now.idOf(['c']), id);
  assert.deepEqual(before.namesOf(id), ['a', 'b']);
});

test('discovery names the advertised address and port when one is given', async () => {
  const node = await startDaxServer({
    handler: { invoke: () => Promise.reject(new Error('no action expected')) },
    advertise: { address: '10.1.2.3', port: 8111 },
    log: makeLogger('test'),
  });
  const socket = connect(node.port, '127.0.0.1');
  try {
    // The greeting, then endpoints (455855874) without arguments, as Tube.js sends them.
    const request = new CborWriter()
      .text('J7yne5G')
      .int(0)
      .null()
      .map(1)
      .text('UserAgent')
      .text('test')
      .int(0)
      .int(1)
      .int(455855874)
      .encoded();
    socket.write(request);
    const answer = await new Promise<unknown[]>((resolve, reject) => {
      let got = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        try {
          const r = new CborReader(got);
          resolve([r.decode(), r.decode()]);
        } catch (err) {
          if (!(err instanceof NeedMore)) reject(err as Error);
        }
      });
    });
    assert.deepEqual(answer, [[], [[1, '10.1.2.3', Buffer.from([10, 1, 2, 3]), 8111, 1, '', 1]]]);
  } finally {
    socket.destroy();
    await node.close();
  }
});

describe('the official DAX client', () => {
  test('PutItem then GetItem round-trips every attribute type', async () => {
    const item = {
      id: { S: 'u1' },
      name: { S: 'Ada' },
      age: { N: '36' },
      score: { N: '-12.5' },
      big: { N: '123456789012345678901234567890' },
      blob: { B: Buffer.from([1, 2, 3]) },
      admin: { BOOL: true },
      none: { NULL: true },
      tags: { SS: ['a', 'b'] },
      nums: { NS: ['1', '2.5'] },
      list: { L: [{ S: 'x' }, { N: '1' }] },
      map: { M: { nested: { S: 'y' } } },
    };
    await dax.putItem({ TableName: 'users', Item: item });
    const got = await dax.getItem({ TableName: 'users', Key: { id: { S: 'u1' } } });
    assert.deepEqual(got.Item, item);
    const missing = await dax.getItem({ TableName: 'users', Key: { id: { S: 'nobody' } } });
    assert.equal(missing.Item, undefined);
  });

  test('GetItem with a projection returns only the projected paths', async () => {
    const got = await dax.getItem({
      TableName: 'users',
      Key: { id: { S: 'u1' } },
      ProjectionExpression: '#n, map.nested, list[1]',
      ExpressionAttributeNames: { '#n': 'name' },
    });
    assert.deepEqual(got.Item, {
      name: { S: 'Ada' },
      map: { M: { nested: { S: 'y' } } },
      list: { L: [{ N: '1' }] },
    });
  });

  test('Query with a numeric sort key, a filter, a limit and paging', async () => {
    for (let seq = 1; seq <= 5; seq++) {
      await dax.putItem({
        TableName: 'orders',
        Item: { customer: { S: 'c1' }, seq: { N: String(seq) }, total: { N: String(seq * 10) } },
      });
    }
    const all = await dax.query({
      TableName: 'orders',
      KeyConditionExpression: 'customer = :c AND seq BETWEEN :lo AND :hi',
      FilterExpression: 'total > :min',
      ExpressionAttributeValues: {
        ':c': { S: 'c1' },
        ':lo': { N: '2' },
        ':hi': { N: '5' },
        ':min': { N: '20' },
      },
      ScanIndexForward: false,
    });
    assert.deepEqual(
      all.Items!.map((i) => i.seq!.N),
      ['5', '4', '3'],
    );
    assert.equal(all.Count, 3);
    assert.equal(all.ScannedCount, 4);
    const page = await dax.query({
      TableName: 'orders',
      KeyConditionExpression: 'customer = :c',
      ExpressionAttributeValues: { ':c': { S: 'c1' } },
      Limit: 2,
    });
    assert.deepEqual(page.LastEvaluatedKey, { customer: { S: 'c1' }, seq: { N: '2' } });
    const rest = await dax.query({
      TableName: 'orders',
      KeyConditionExpression: 'customer = :c',
      ExpressionAttributeValues: { ':c': { S: 'c1' } },
      ExclusiveStartKey: page.LastEvaluatedKey,
    });
    assert.deepEqual(
      rest.Items!.map((i) => i.seq!.N),
      ['3', '4', '5'],
    );
  });

  test('a missing table is ResourceNotFoundException', async () => {
    await assert.rejects(
      dax.getItem({ TableName: 'nosuch', Key: { id: { S: 'x' } } }),
      (err: { code?: string }) => {
        assert.equal(err.code, 'ResourceNotFoundException');
        return true;
      },
    );
  });

  test('UpdateItem returns what it is asked for, and a failed condition is ConditionalCheckFailedException', async () => {
    await dax.putItem({ TableName: 'users', Item: { id: { S: 'u2' }, visits: { N: '1' } } });
    const updated = await dax.updateItem({
      TableName: 'users',
      Key: { id: { S: 'u2' } },
      UpdateExpression: 'SET visits = visits + :one, #s = if_not_exists(#s, :new) REMOVE gone',
      ConditionExpression: 'attribute_exists(id) AND NOT (visits > :max OR begins_with(id, :x))',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: {
        ':one': { N: '1' },
        ':new': { S: 'active' },
        ':max': { N: '100' },
        ':x': { S: 'x' },
      },
      ReturnValues: 'ALL_NEW',
    });
    assert.deepEqual(updated.Attributes, {
      id: { S: 'u2' },
      visits: { N: '2' },
      status: { S: 'active' },
    });
    const changed = await dax.updateItem({
      TableName: 'users',
      Key: { id: { S: 'u2' } },
      UpdateExpression: 'ADD visits :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
      ReturnValues: 'UPDATED_NEW',
    });
    assert.deepEqual(changed.Attributes, { visits: { N: '3' } });
    await assert.rejects(
      dax.putItem({
        TableName: 'users',
        Item: { id: { S: 'u2' } },
        ConditionExpression: 'attribute_not_exists(id)',
      }),
      (err: { code?: string; message?: string }) => {
        assert.equal(err.code, 'ConditionalCheckFailedException');
        assert.match(err.message!, /The conditional request failed/);
        return true;
      },
    );
  });

  test('DeleteItem returns the old item', async () => {
    await dax.putItem({ TableName: 'users', Item: { id: { S: 'u3' }, v: { S: 'old' } } });
    const old = await dax.deleteItem({
      TableName: 'users',
      Key: { id: { S: 'u3' } },
      ReturnValues: 'ALL_OLD',
    });
    assert.deepEqual(old.Attributes, { id: { S: 'u3' }, v: { S: 'old' } });
    const gone = await dax.getItem({
      TableName: 'users',
      Key: { id: { S: 'u3' } },
      ConsistentRead: true,
    });
    assert.equal(gone.Item, undefined);
  });

  test('BatchWriteItem then BatchGetItem and Scan see the items', async () => {
    const written = await dax.batchWriteItem({
      RequestItems: {
        orders: [
          { PutRequest: { Item: { customer: { S: 'c2' }, seq: { N: '1' }, note: { S: 'a' } } } },
          { PutRequest: { Item: { customer: { S: 'c2' }, seq: { N: '2' } } } },
          { DeleteRequest: { Key: { customer: { S: 'c1' }, seq: { N: '1' } } } },
        ],
      },
    });
    assert.deepEqual(written.UnprocessedItems, {});
    const got = await dax.batchGetItem({
      RequestItems: {
        orders: {
          Keys: [
            { customer: { S: 'c2' }, seq: { N: '1' } },
            { customer: { S: 'c2' }, seq: { N: '2' } },
            { customer: { S: 'c1' }, seq: { N: '1' } },
          ],
        },
      },
    });
    const seqs = got.Responses!.orders!.map((i) => i.seq!.N).sort();
    assert.deepEqual(seqs, ['1', '2']);
    assert.deepEqual(
      got.Responses!.orders!.find((i) => i.seq!.N === '1'),
      { customer: { S: 'c2' }, seq: { N: '1' }, note: { S: 'a' } },
    );
    const scanned = await dax.scan({
      TableName: 'orders',
      FilterExpression: 'customer = :c',
      ExpressionAttributeValues: { ':c': { S: 'c2' } },
    });
    assert.equal(scanned.Count, 2);
  });

  test("a wrong secret is refused with the HTTP API's SigV4 error", async () => {
    const intruder = daxClient({ ...credentials, secretAccessKey: 'wrong' });
    try {
      await assert.rejects(
        intruder.getItem({ TableName: 'users', Key: { id: { S: 'u1' } } }),
        (err: { code?: string }) => {
          assert.equal(err.code, 'InvalidSignatureException');
          return true;
        },
      );
    } finally {
      shutdown(intruder);
    }
  });

  test('eventually consistent reads are answered from the read cache, consistent ones are not', async () => {
    await dax.putItem({ TableName: 'cached', Item: { id: { S: 'k' }, v: { S: 'old' } } });
    await dax.getItem({ TableName: 'cached', Key: { id: { S: 'k' } } });
    // Written straight into storage, behind the service's back: only a read that
    // skips the cache can see it.
    const meta = (await engine.getTable('cached'))!;
    const item = { id: { S: 'k' }, v: { S: 'new' } };
    await engine.putItem(meta, storageKey(meta.schema, item), item);
    const cached = await dax.getItem({ TableName: 'cached', Key: { id: { S: 'k' } } });
    assert.deepEqual(cached.Item, { id: { S: 'k' }, v: { S: 'old' } });
    const fresh = await dax.getItem({
      TableName: 'cached',
      Key: { id: { S: 'k' } },
      ConsistentRead: true,
    });
    assert.deepEqual(fresh.Item, item);
  });

  test('Query of an index pages with its own keys; Select COUNT and parallel Scan segments', async () => {
    for (let i = 1; i <= 3; i++) {
      await dax.putItem({
        TableName: 'events',
        Item: { id: { S: `e${i}` }, kind: { S: 'click' }, at: { N: String(i * 1.5) } },
      });
    }
    const first = await dax.query({
      TableName: 'events',
      IndexName: 'byKind',
      KeyConditionExpression: 'kind = :k AND at > :t',
      ExpressionAttributeValues: { ':k': { S: 'click' }, ':t': { N: '1' } },
      Limit: 2,
    });
    assert.deepEqual(
      first.Items!.map((i) => i.id!.S),
      ['e1', 'e2'],
    );
    assert.deepEqual(first.LastEvaluatedKey, {
      id: { S: 'e2' },
      kind: { S: 'click' },
      at: { N: '3' },
    });
    const second = await dax.query({
      TableName: 'events',
      IndexName: 'byKind',
      KeyConditionExpression: 'kind = :k AND at > :t',
      ExpressionAttributeValues: { ':k': { S: 'click' }, ':t': { N: '1' } },
      ExclusiveStartKey: first.LastEvaluatedKey,
    });
    assert.deepEqual(
      second.Items!.map((i) => i.id!.S),
      ['e3'],
    );
    const counted = await dax.query({
      TableName: 'events',
      IndexName: 'byKind',
      KeyConditionExpression: 'kind = :k',
      ExpressionAttributeValues: { ':k': { S: 'click' } },
      Select: 'COUNT',
    });
    assert.equal(counted.Count, 3);
    assert.equal(counted.Items, undefined);
    let seen = 0;
    for (const segment of [0, 1]) {
      const part = await dax.scan({ TableName: 'events', Segment: segment, TotalSegments: 2 });
      seen += part.Count!;
    }
    assert.equal(seen, 3);
  });

  test('the document client (lib-dax) puts, gets and queries plain JavaScript values', async () => {
    const doc = new DaxDocument({
      endpoint: `dax://127.0.0.1:${server.dax!.port}`,
      region: 'us-east-1',
      credentials,
    });
    try {
      await doc.put({
        TableName: 'orders',
        Item: { customer: 'c9', seq: 1, lines: [{ sku: 'x', qty: 2 }], paid: false },
      });
      const got = await doc.get({ TableName: 'orders', Key: { customer: 'c9', seq: 1 } });
      assert.deepEqual(got.Item, {
        customer: 'c9',
        seq: 1,
        lines: [{ sku: 'x', qty: 2 }],
        paid: false,
      });
      const found = await doc.query({
        TableName: 'orders',
        KeyConditionExpression: 'customer = :c',
        ExpressionAttributeValues: { ':c': 'c9' },
      });
      assert.deepEqual(
        found.Items!.map((i) => i.seq as number),
        [1],
      );
    } finally {
      shutdown(doc as unknown as Dax);
    }
  });

  test('TransactWriteItems writes all or nothing, TransactGetItems reads them, cancellation has its reasons', async () => {
    await dax.transactWriteItems({
      TransactItems: [
        { Put: { TableName: 'users', Item: { id: { S: 't1' }, n: { N: '1' } } } },
        {
          Update: {
            TableName: 'users',
            Key: { id: { S: 't2' } },
            UpdateExpression: 'SET n = :n',
            ExpressionAttributeValues: { ':n': { N: '2' } },
          },
        },
      ],
    });
    const got = await dax.transactGetItems({
      TransactItems: [
        { Get: { TableName: 'users', Key: { id: { S: 't1' } } } },
        { Get: { TableName: 'users', Key: { id: { S: 't2' } }, ProjectionExpression: 'n' } },
        { Get: { TableName: 'users', Key: { id: { S: 'none' } } } },
      ],
    });
    assert.deepEqual(got.Responses, [
      { Item: { id: { S: 't1' }, n: { N: '1' } } },
      { Item: { n: { N: '2' } } },
      {},
    ]);
    await assert.rejects(
      dax.transactWriteItems({
        TransactItems: [
          { Delete: { TableName: 'users', Key: { id: { S: 't2' } } } },
          {
            ConditionCheck: {
              TableName: 'users',
              Key: { id: { S: 't1' } },
              ConditionExpression: 'n = :two',
              ExpressionAttributeValues: { ':two': { N: '2' } },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ],
      }),
      (err: { code?: string; cancellationReasons?: { Code: string; Item: unknown }[] }) => {
        assert.equal(err.code, 'TransactionCanceledException');
        assert.deepEqual(
          err.cancellationReasons?.map((r) => r.Code),
          ['None', 'ConditionalCheckFailed'],
        );
        assert.deepEqual(err.cancellationReasons?.[1]?.Item, { id: { S: 't1' }, n: { N: '1' } });
        return true;
      },
    );
    const still = await dax.getItem({
      TableName: 'users',
      Key: { id: { S: 't2' } },
      ConsistentRead: true,
    });
    assert.deepEqual(still.Item, { id: { S: 't2' }, n: { N: '2' } });
  });

  test('binary hash and sort keys round-trip through items and LastEvaluatedKey', async () => {
    const h = Buffer.from([0, 255, 7]);
    for (const r of [Buffer.from([1]), Buffer.from([2, 0])]) {
      await dax.putItem({ TableName: 'blobs', Item: { h: { B: h }, r: { B: r } } });
    }
    const page = await dax.query({
      TableName: 'blobs',
      KeyConditionExpression: 'h = :h',
      ExpressionAttributeValues: { ':h': { B: h } },
      Limit: 1,
    });
    assert.deepEqual(page.Items, [{ h: { B: h }, r: { B: Buffer.from([1]) } }]);
    assert.deepEqual(page.LastEvaluatedKey, { h: { B: h }, r: { B: Buffer.from([1]) } });
    const rest = await dax.query({
      TableName: 'blobs',
      KeyConditionExpression: 'h = :h',
      ExpressionAttributeValues: { ':h': { B: h } },
      ExclusiveStartKey: page.LastEvaluatedKey,
    });
    assert.deepEqual(rest.Items, [{ h: { B: h }, r: { B: Buffer.from([2, 0]) } }]);
  });

  test('ReturnConsumedCapacity comes back as numbers', async () => {
    const got = await dax.getItem({
      TableName: 'users',
      Key: { id: { S: 'u1' } },
      ReturnConsumedCapacity: 'TOTAL',
    });
    assert.deepEqual(got.ConsumedCapacity, { TableName: 'users', CapacityUnits: 0.5 });
    const written = await dax.putItem({
      TableName: 'users',
      Item: { id: { S: 'u9' } },
      ReturnConsumedCapacity: 'INDEXES',
    });
    assert.deepEqual(written.ConsumedCapacity, {
      TableName: 'users',
      CapacityUnits: 1,
      Table: { CapacityUnits: 1 },
    });
    const txn = await dax.transactWriteItems({
      TransactItems: [{ Put: { TableName: 'users', Item: { id: { S: 'u10' } } } }],
      ReturnConsumedCapacity: 'TOTAL',
    });
    assert.deepEqual(txn.ConsumedCapacity, [
      { TableName: 'users', CapacityUnits: 2, WriteCapacityUnits: 2 },
    ]);
  });

  test('every expression function survives the trip through the client tree', async () => {
    await dax.putItem({
      TableName: 'users',
      Item: { id: { S: 'f1' }, l: { L: [{ N: '1' }] }, tags: { SS: ['a', 'b'] }, n: { N: '2' } },
    });
    const out = await dax.updateItem({
      TableName: 'users',
      Key: { id: { S: 'f1' } },
      ConditionExpression:
        'size(#l) > :zero AND contains(tags, :a) AND attribute_type(n, :t) AND n IN (:one, :two)',
      UpdateExpression: 'SET #l = list_append(#l, :more), n = n - :one DELETE tags :del',
      ExpressionAttributeNames: { '#l': 'l' },
      ExpressionAttributeValues: {
        ':zero': { N: '0' },
        ':a': { S: 'a' },
        ':t': { S: 'N' },
        ':one': { N: '1' },
        ':two': { N: '2' },
        ':more': { L: [{ N: '9' }] },
        ':del': { SS: ['a'] },
      },
      ReturnValues: 'UPDATED_OLD',
    });
    assert.deepEqual(out.Attributes, {
      l: { L: [{ N: '1' }] },
      n: { N: '2' },
      tags: { SS: ['a', 'b'] },
    });
    const got = await dax.getItem({ TableName: 'users', Key: { id: { S: 'f1' } } });
    assert.deepEqual(got.Item, {
      id: { S: 'f1' },
      l: { L: [{ N: '1' }, { N: '9' }] },
      n: { N: '1' },
      tags: { SS: ['b'] },
    });
  });
});
