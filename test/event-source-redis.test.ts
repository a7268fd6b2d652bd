// Event source mapping checkpoints and shard leases on real Redis: the store's
// transitions one by one, then two gateway replicas' mapping services sharing one
// Redis over a real table service: one replica reads the shard at a time, and when
// it dies without releasing its lease the other takes over after the lease lapses,
// from the checkpoint, losing nothing.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { parseFunctionSpec } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import { connectRedis } from '../gateway/async/redis.ts';
import { RedisMappingStore } from '../gateway/event-sources/redis-store.ts';
import { makeEventSources, type EventSources } from '../gateway/event-sources/service.ts';
import { streamsClient } from '../gateway/event-sources/streams-client.ts';
import type { Mapping } from '../gateway/event-sources/mapping.ts';
import type { Invoker } from '../gateway/invoker.ts';
import { FunctionRegistry } from '../gateway/registry.ts';
import { streamsHarness, type Replica, type StreamsHarness } from '../tables/testing/streams.ts';
import { testServices } from './services/index.ts';

const log = makeLogger('test', { level: 'error' });
let redis: Redis;
const prefix = `{selfless-test-${randomUUID().slice(0, 8)}}:esm`;

before(async () => {
  redis = await connectRedis((await testServices()).redisUrl, log);
});
after(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const mapping = (
  uuid: string,
  arn = 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x',
): Mapping => ({
  uuid,
  functionKey: 'f',
  eventSourceArn: arn,
  startingPosition: 'TRIM_HORIZON',
  batchSize: 10,
  maximumBatchingWindowInSeconds: 0,
  parallelizationFactor: 1,
  maximumRetryAttempts: -1,
  maximumRecordAgeInSeconds: -1,
  bisectBatchOnFunctionError: false,
  functionResponseTypes: [],
  filters: [],
  enabled: true,
  state: 'Creating',
  stateTransitionReason: 'USER_INITIATED',
  lastModified: 0,
});

describe('the Redis mapping store', () => {
  test('one mapping per stream and function: a second create answers the first one', async () => {
    const store = new RedisMappingStore(redis, prefix);
    assert.equal(await store.create(mapping('m-1')), undefined);
    assert.equal(await store.create(mapping('m-2')), 'm-1');
    assert.deepEqual(
      (await store.list()).map((m) => m.uuid),
      ['m-1'],
    );
    await store.remove(mapping('m-1'));
    assert.equal(await store.create(mapping('m-3')), undefined, 'the pair is free again');
    await store.remove(mapping('m-3'));
  });

  test('a shard lease is one holder at a time; only the holder moves the checkpoint', async () => {
    const store = new RedisMappingStore(redis, prefix);
    assert.equal(await store.lease('m', 's', 'a', 60_000), true);
    assert.equal(await store.lease('m', 's', 'b', 60_000), false, 'held by a');
    assert.equal(await store.lease('m', 's', 'a', 60_000), true, 'a extends');
    assert.equal(await store.commit('m', 's', 'a', { after: '1' }), true);
    assert.equal(await store.commit('m', 's', 'b', { after: '2' }), false);
    assert.deepEqual(await store.checkpoint('m', 's'), { after: '1' });
    await store.release('m', 's', 'b');
    assert.equal(await store.lease('m', 's', 'b', 60_000), false, "b cannot release a's lease");
    await store.release('m', 's', 'a');
    assert.equal(await store.lease('m', 's', 'b', 60_000), true, 'free once a released it');
    assert.equal(await store.commit('m', 's', 'a', { after: '3' }), false, 'a lost it');
    await store.remove(mapping('m'));
    assert.equal(await store.checkpoint('m', 's'), undefined, 'checkpoints go with the mapping');
  });
});

describe('two replicas over one Redis', () => {
  let harness: StreamsHarness;
  let tables: Replica;
  const replicas: EventSources[] = [];
  const delivered: { replica: string; id: string }[] = [];

  before(async () => {
    harness = await streamsHarness({ engine: 'sqlite' });
    tables = await harness.replica();
    await tables.client.send(
      new CreateTableCommand({
        TableName: 'orders',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
      }),
    );
  });
  after(async () => {
    for (const r of replicas) await r.close();
    await harness.close();
  });

  function replica(name: string, opts: { crashes?: boolean } = {}): EventSources {
    const registry = new FunctionRegistry();
    const spec = parseFunctionSpec({
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      code: { inline: {} },
      triggers: [
        { dynamodbStream: { table: 'orders', startingPosition: 'TRIM_HORIZON', batchSize: 10 } },
      ],
    });
    assert.ok(spec.ok);
    registry.put({ name: 'f', namespace: 'default', spec: spec.value });
    const shared = new RedisMappingStore(redis, prefix);
    // A replica that dies cannot release its leases: they lapse.
    const store = opts.crashes
      ? Object.assign(Object.create(shared) as RedisMappingStore, {
          release: () => Promise.resolve(),
        })
      : shared;
    const invoke: Invoker = (_fn, req) => {
      const event = JSON.parse(req.payload.toString()) as {
        Records: { dynamodb: { Keys: { id: { S: string } } } }[];
      };
      for (const r of event.Records) delivered.push({ replica: name, id: r.dynamodb.Keys.id.S });
      return Promise.resolve({
        ok: true,
        result: {
          requestId: randomUUID(),
          payload: Buffer.from('null'),
          durationMs: 1,
          billedDurationMs: 1,
          maxMemoryUsedMB: 1,
        },
      });
    };
    const es = makeEventSources({
      store,
      streams: streamsClient(tables.url, 'us-east-1'),
      refreshMs: 50,
      poller: { pollMs: 20, leaseMs: 600 },
    })({
      registry,
      account: { region: 'us-east-1', accountId: '000000000000' },
      invoke,
      metricsRegistry: new Registry(),
      log,
    });
    replicas.push(es);
    return es;
  }

  async function until(what: string, ok: () => boolean): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const write = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      await tables.client.send(
        new PutItemCommand({ TableName: 'orders', Item: { id: { S: `o-${i}` } } }),
      );
    }
  };

  test('one replica reads the shard; when it dies the other goes on from the checkpoint after the lease lapses', async () => {
    const a = replica('a', { crashes: true });
    await a.refresh();
    replica('b');
    await write(0, 100);
    await until('100 records', () => delivered.length >= 100);
    assert.deepEqual(
      [...new Set(delivered.map((d) => d.replica))],
      ['a'],
      'the first to take the lease reads the whole shard',
    );
    await a.close();
    replicas.splice(replicas.indexOf(a), 1);
    await write(100, 200);
    await until('200 records', () => new Set(delivered.map((d) => d.id)).size >= 200);
    const ids = delivered.map((d) => d.id);
    assert.equal(new Set(ids).size, 200, 'none lost');
    assert.equal(ids.length, 200, 'none twice: a stopped between batches');
    assert.deepEqual([...new Set(delivered.slice(100).map((d) => d.replica))], ['b']);
  });
});
