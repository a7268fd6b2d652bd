// Provisioned and on-demand budgets enforced through the real AWS SDK against real
// servers on sqlite and on CQL (a real Cassandra), with an injected clock: the burst
// credit, the refill rate, DynamoDB's errors and ThrottlingReasons, GSI budgets,
// UpdateTable taking effect at once and its decrease limit, and two replicas on one
// Redis sharing one budget.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { Redis } from 'ioredis';
import { makeLogger } from '../../lib/log.ts';
import { testServices } from '../../test/services/index.ts';
import {
  cqlConfig,
  dropKeyspace,
  engineKinds,
  rejectsWith,
  sdkClient,
} from '../../test/support/tables.ts';
import { openEngine, type EngineConfig } from '../engine.ts';
import { startTablesServer, type TablesServer } from '../server.ts';
import type { StorageEngine } from '../storage/engine.ts';
import type { BucketStore } from './buckets.ts';
import { indexThrottledMessage, onDemandThrottledMessage, tableThrottledMessage } from './guard.ts';
import { RedisBucketStore } from './store-redis.ts';

let now = Date.UTC(2026, 0, 1, 10);
const clock = () => now;

interface Replica {
  server: TablesServer;
  client: DynamoDBClient;
}

const table = (
  name: string,
  extra: Partial<CreateTableCommandInput> = {},
): CreateTableCommandInput => ({
  TableName: name,
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
  ...extra,
});

/** Puts until the first throttle; answers how many were served. */
async function drain(
  client: DynamoDBClient,
  name: string,
  size = 10,
  limit = 2000,
): Promise<number> {
  // Fresh keys every time: overwriting a large item costs its size (the larger of old and new).
  const prefix = `${size}-${now}-`;
  for (let i = 0; i < limit; i++) {
    try {
      await client.send(
        new PutItemCommand({
          TableName: name,
          Item: { pk: { S: prefix + i }, g: { S: 'x' }, pad: { S: 'p'.repeat(size) } },
        }),
      );
    } catch (err) {
      assert.equal((err as Error).name, 'ProvisionedThroughputExceededException');
      return i;
    }
  }
  return limit;
}

for (const kind of engineKinds) {
  describe(`capacity enforced (${kind})`, () => {
    let engine: StorageEngine;
    let config: EngineConfig;
    const replicas: Replica[] = [];
    const stores: BucketStore[] = [];

    async function replica(store?: BucketStore): Promise<Replica> {
      const server = await startTablesServer({
        engine,
        clock,
        capacityStore: store,
        log: makeLogger('tables', { level: 'error' }),
      });
      const r = { server, client: sdkClient(server.url) };
      replicas.push(r);
      return r;
    }

    before(async () => {
      config = kind === 'sqlite' ? { engine: 'sqlite' } : await cqlConfig();
      engine = await openEngine(config);
    });
    after(async () => {
      for (const r of replicas) {
        r.client.destroy();
        await r.server.close();
      }
      for (const s of stores) await s.close();
      await engine.close();
      if (config.engine === 'cql') await dropKeyspace(config);
    });

    test('a 1 WCU table serves its 300 s burst, then 1 write a second, with DynamoDB error and reasons', async () => {
      const { client } = await replica();
      await client.send(new CreateTableCommand(table('burst')));
      // 150 KB items cost 150 WCU: two drain the 300-unit burst.
      assert.equal(await drain(client, 'burst', 150 * 1024 - 100), 2);
      const put = () =>
        client.send(new PutItemCommand({ TableName: 'burst', Item: { pk: { S: 'one' } } }));
      await assert.rejects(put(), (err: Record<string, unknown>) => {
        assert.equal(err.name, 'ProvisionedThroughputExceededException');
        assert.equal(err.message, tableThrottledMessage);
        assert.equal(
          err.$metadata && (err.$metadata as { httpStatusCode: number }).httpStatusCode,
          400,
        );
        assert.deepEqual(err.ThrottlingReasons, [
          {
            reason: 'TableWriteProvisionedThroughputExceeded',
            resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/burst',
          },
        ]);
        return true;
      });
      now += 1000;
      await put();
      await rejectsWith(put(), 'ProvisionedThroughputExceededException');
      // Reads have their own budget: 1 RCU is 2 eventually consistent reads a second.
      const get = (consistent: boolean) =>
        client.send(
          new GetItemCommand({
            TableName: 'burst',
            Key: { pk: { S: 'one' } },
            ConsistentRead: consistent,
          }),
        );
      for (let i = 0; i < 600; i++) await get(false);
      await rejectsWith(
        get(false),
        'ProvisionedThroughputExceededException',
        tableThrottledMessage,
      );
      now += 500;
      await get(false);
      await rejectsWith(get(true), 'ProvisionedThroughputExceededException');
    });

    test('UpdateTable raises the budget at once; decreases stop after 4 a day within an hour', async () => {
      now = Date.UTC(2026, 0, 1, 10);
      const { client } = await replica();
      await client.send(new CreateTableCommand(table('grow')));
      assert.equal(await drain(client, 'grow', 150 * 1024 - 100), 2);
      await client.send(
        new UpdateTableCommand({
          TableName: 'grow',
          ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 100 },
        }),
      );
      now += 1000;
      // 1 s at 100 WCU: 100 one-unit writes.
      assert.equal(await drain(client, 'grow'), 100);
      const set = (w: number) =>
        client.send(
          new UpdateTableCommand({
            TableName: 'grow',
            ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: w },
          }),
        );
      for (const w of [90, 80, 70, 60]) await set(w);
      now += 60_000;
      await assert.rejects(set(50), (err: Error) => {
        assert.equal(err.name, 'LimitExceededException');
        assert.match(
          err.message,
          /^Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day\. After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds\. Number of decreases today: 4\. Last decrease at Thursday, January 1, 2026 10:00:0\d AM UTC\. Next decrease can be made at Thursday, January 1, 2026 11:00:0\d AM UTC$/,
        );
        return true;
      });
      await set(200);
      now += 3_600_000;
      await set(50);
      await rejectsWith(set(40), 'LimitExceededException');
      const d = (await client.send(new DescribeTableCommand({ TableName: 'grow' }))).Table!;
      assert.equal(d.ProvisionedThroughput?.NumberOfDecreasesToday, 5);
      assert.equal(d.ProvisionedThroughput?.WriteCapacityUnits, 50);
      // A new UTC day starts the count again.
      now = Date.UTC(2026, 0, 2, 0, 0, 1);
      await set(40);
      const d2 = (await client.send(new DescribeTableCommand({ TableName: 'grow' }))).Table!;
      assert.equal(d2.ProvisionedThroughput?.NumberOfDecreasesToday, 1);
    });

    test('a GSI out of write capacity throttles writes to its table with the index reason', async () => {
      const { client } = await replica();
      await client.send(
        new CreateTableCommand(
          table('indexed', {
            AttributeDefinitions: [
              { AttributeName: 'pk', AttributeType: 'S' },
              { AttributeName: 'g', AttributeType: 'S' },
            ],
            ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: 100 },
            GlobalSecondaryIndexes: [
              {
                IndexName: 'by-g',
                KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
                Projection: { ProjectionType: 'KEYS_ONLY' },
                ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
              },
            ],
          }),
        ),
      );
      // The index rows are keys only (1 WCU each): the index's 300 units go first.
      let served = 0;
      for (; served < 400; served++) {
        try {
          await client.send(
            new PutItemCommand({
              TableName: 'indexed',
              Item: { pk: { S: `k${served}` }, g: { S: 'x' } },
            }),
          );
        } catch (err) {
          assert.equal((err as Error).name, 'ProvisionedThroughputExceededException');
          assert.equal((err as Error).message, indexThrottledMessage);
          assert.deepEqual((err as unknown as Record<string, unknown>).ThrottlingReasons, [
            {
              reason: 'IndexWriteProvisionedThroughputExceeded',
              resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/indexed/index/by-g',
            },
          ]);
          break;
        }
      }
      assert.equal(served, 300);
    });

    test('on-demand MaxWriteRequestUnits caps writes per second with ThrottlingException; -1 is no cap', async () => {
      const { client } = await replica();
      await client.send(
        new CreateTableCommand(
          table('capped', {
            BillingMode: 'PAY_PER_REQUEST',
            ProvisionedThroughput: undefined,
            OnDemandThroughput: { MaxReadRequestUnits: -1, MaxWriteRequestUnits: 3 },
          }),
        ),
      );
      const put = (i: number) =>
        client.send(new PutItemCommand({ TableName: 'capped', Item: { pk: { S: `k${i}` } } }));
      for (let i = 0; i < 3; i++) await put(i);
      await assert.rejects(put(3), (err: Record<string, unknown>) => {
        assert.equal(err.name, 'ThrottlingException');
        assert.equal(err.message, onDemandThrottledMessage);
        assert.deepEqual(err.ThrottlingReasons, [
          {
            reason: 'TableWriteMaxOnDemandThroughputExceeded',
            resource: 'arn:aws:dynamodb:us-east-1:000000000000:table/capped',
          },
        ]);
        return true;
      });
      now += 1000;
      for (let i = 0; i < 3; i++) await put(i);
      // Reads are uncapped (-1).
      for (let i = 0; i < 50; i++) {
        await client.send(new GetItemCommand({ TableName: 'capped', Key: { pk: { S: 'k1' } } }));
      }
      const d = (await client.send(new DescribeTableCommand({ TableName: 'capped' }))).Table!;
      assert.deepEqual(d.OnDemandThroughput, { MaxReadRequestUnits: -1, MaxWriteRequestUnits: 3 });
      assert.deepEqual(d.WarmThroughput, {
        ReadUnitsPerSecond: 12000,
        WriteUnitsPerSecond: 4000,
        Status: 'ACTIVE',
      });
      await client.send(
        new UpdateTableCommand({
          TableName: 'capped',
          OnDemandThroughput: { MaxWriteRequestUnits: -1 },
        }),
      );
      for (let i = 0; i < 20; i++) await put(i);
    });

    test('two replicas on one Redis draw on one budget', async () => {
      const { redisUrl } = await testServices();
      const s1 = new RedisBucketStore(new Redis(redisUrl));
      const s2 = new RedisBucketStore(new Redis(redisUrl));
      stores.push(s1, s2);
      const a = await replica(s1);
      const b = await replica(s2);
      await a.client.send(new CreateTableCommand(table('shared')));
      // 100 KB items: 100 WCU each, three fit in the 300-unit burst across both replicas.
      const put = (c: DynamoDBClient, i: number) =>
        c.send(
          new PutItemCommand({
            TableName: 'shared',
            Item: { pk: { S: `k${i}` }, pad: { S: 'p'.repeat(100 * 1024 - 10) } },
          }),
        );
      await put(a.client, 1);
      await put(b.client, 2);
      await put(a.client, 3);
      await rejectsWith(put(b.client, 4), 'ProvisionedThroughputExceededException');
      await rejectsWith(put(a.client, 5), 'ProvisionedThroughputExceededException');
    });
  });
}
