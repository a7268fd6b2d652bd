// The shard poller against an in-memory stream and a test clock: what a
// ReportBatchItemFailures answer resumes from, records aged out past
// MaximumRecordAgeInSeconds, and the Lambda event shape of a TTL deletion.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { makeLogger } from '../../lib/log.ts';
import type { InvokeOutcome } from '../invoker.ts';
import type { Mapping } from './mapping.ts';
import { makeEventSourceMetrics } from './metrics.ts';
import { makeShardPoller } from './poller.ts';
import { MemoryMappingStore } from './store.ts';
import type { StreamRecord, StreamsApi } from './streams-client.ts';

const ARN = 'arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000';

function record(i: number, createdSeconds: number, ttl = false): StreamRecord {
  return {
    eventID: `e${i}`,
    eventName: ttl ? 'REMOVE' : 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: createdSeconds,
      Keys: { id: { S: `k${i}` } },
      SequenceNumber: String(1000 + i).padStart(22, '0'),
      SizeBytes: 10,
      StreamViewType: 'KEYS_ONLY',
    },
    ...(ttl && { userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' } }),
  };
}

/** A one-shard stream over a list; iterators are positions in it. */
function stream(records: StreamRecord[], closed = false): StreamsApi {
  return {
    describeTable: () => Promise.resolve({ LatestStreamArn: ARN, StreamEnabled: true }),
    describeStream: () =>
      Promise.resolve({
        status: 'ENABLED',
        shards: [{ ShardId: 'shardId-1', SequenceNumberRange: {} }],
      }),
    shardIterator: (_arn, _shard, type, seq) => {
      if (type === 'TRIM_HORIZON') return Promise.resolve('0');
      if (type === 'LATEST') return Promise.resolve(String(records.length));
      return Promise.resolve(
        String(records.findIndex((r) => r.dynamodb.SequenceNumber === seq) + 1),
      );
    },
    records: (it, limit) => {
      const at = Number(it);
      const out = records.slice(at, at + limit);
      // A closed shard answers no NextShardIterator once read to its end.
      const end = closed && at + out.length >= records.length;
      return Promise.resolve({ records: out, ...(!end && { next: String(at + out.length) }) });
    },
  };
}

const mapping = (over: Partial<Mapping>): Mapping => ({
  uuid: randomUUID(),
  functionKey: 'f',
  eventSourceArn: ARN,
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
  state: 'Enabled',
  stateTransitionReason: 'USER_INITIATED',
  lastModified: 0,
  ...over,
});

type Event = { Records: { dynamodb: { SequenceNumber: string }; userIdentity?: unknown }[] };

function run(
  m: Mapping,
  records: StreamRecord[],
  answer: (e: Event, call: number) => InvokeOutcome,
  clock: { now: number },
  closed = false,
) {
  const calls: Event[] = [];
  const delivered: string[] = [];
  const store = new MemoryMappingStore(undefined, () => clock.now);
  const poller = makeShardPoller(
    {
      api: stream(records, closed),
      store,
      mapping: () => m,
      invoke: (_m, payload) => {
        const e = JSON.parse(payload) as Event;
        calls.push(e);
        return Promise.resolve(answer(e, calls.length));
      },
      deliver: (_m, r) => {
        delivered.push(r);
        return Promise.resolve();
      },
      functionArn: () => 'arn:aws:lambda:us-east-1:000000000000:function:f',
      metrics: makeEventSourceMetrics(new Registry()),
      log: makeLogger('test', { level: 'error' }),
      clock: () => clock.now,
      token: 'me',
      options: { pollMs: 1, leaseMs: 60_000, retryBaseMs: 1, retryMaxMs: 2 },
    },
    ARN,
    'shardId-1',
  );
  return { calls, delivered, store, poller };
}

const ok = (payload: unknown): InvokeOutcome => ({
  ok: true,
  result: {
    requestId: 'r',
    payload: Buffer.from(JSON.stringify(payload)),
    durationMs: 1,
    billedDurationMs: 1,
    maxMemoryUsedMB: 1,
  },
});
const failed: InvokeOutcome = {
  ok: true,
  result: {
    requestId: 'r',
    payload: Buffer.from('{"errorMessage":"no"}'),
    functionError: 'Unhandled',
    durationMs: 1,
    billedDurationMs: 1,
    maxMemoryUsedMB: 1,
  },
};

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const seqs = (e: Event) => e.Records.map((r) => Number(r.dynamodb.SequenceNumber) - 1000);

describe('the shard poller', () => {
  test('ReportBatchItemFailures: the batch resumes at the lowest failed record; those before it are done', async () => {
    const records = Array.from({ length: 5 }, (_, i) => record(i, 0));
    const m = mapping({ functionResponseTypes: ['ReportBatchItemFailures'] });
    const { calls, store, poller } = run(
      m,
      records,
      (e, call) =>
        call === 1
          ? ok({
              batchItemFailures: [
                { itemIdentifier: e.Records[3]!.dynamodb.SequenceNumber },
                { itemIdentifier: e.Records[2]!.dynamodb.SequenceNumber },
              ],
            })
          : ok({ batchItemFailures: [] }),
      { now: 0 },
    );
    await until('two calls', () => calls.length >= 2);
    await poller.stop();
    assert.deepEqual(calls.map(seqs), [
      [0, 1, 2, 3, 4],
      [2, 3, 4],
    ]);
    assert.equal(
      (await store.checkpoint(m.uuid, 'shardId-1'))?.after,
      records[4]!.dynamodb.SequenceNumber,
    );
  });

  test('an identifier that is not in the batch fails the whole batch', async () => {
    const records = Array.from({ length: 3 }, (_, i) => record(i, 0));
    const m = mapping({ functionResponseTypes: ['ReportBatchItemFailures'] });
    const { calls, poller } = run(
      m,
      records,
      (_e, call) =>
        call === 1 ? ok({ batchItemFailures: [{ itemIdentifier: 'nope' }] }) : ok(null),
      { now: 0 },
    );
    await until('two calls', () => calls.length >= 2);
    await poller.stop();
    assert.deepEqual(calls.slice(0, 2).map(seqs), [
      [0, 1, 2],
      [0, 1, 2],
    ]);
  });

  test('a failing batch older than MaximumRecordAgeInSeconds is discarded as RecordAgeExceeded', async () => {
    const clock = { now: 1_000_000 };
    const records = [record(0, 1000), record(1, 1000)];
    const m = mapping({ maximumRecordAgeInSeconds: 60, onFailure: 'queue:dlq' });
    const { calls, delivered, poller } = run(m, records, () => failed, clock);
    await until('a few failed calls', () => calls.length >= 3);
    assert.equal(delivered.length, 0, 'retried while young enough (retries are unlimited)');
    clock.now += 61_000;
    await until('the failure record', () => delivered.length === 1);
    await poller.stop();
    const rec = JSON.parse(delivered[0]!) as {
      requestContext: { condition: string; approximateInvokeCount: number };
      DDBStreamBatchInfo: { batchSize: number; approximateArrivalOfFirstRecord: string };
    };
    assert.equal(rec.requestContext.condition, 'RecordAgeExceeded');
    assert.ok(rec.requestContext.approximateInvokeCount >= 3);
    assert.equal(rec.DDBStreamBatchInfo.batchSize, 2);
    assert.equal(rec.DDBStreamBatchInfo.approximateArrivalOfFirstRecord, '1970-01-01T00:16:40Z');
  });

  test("a TTL deletion reaches the function with Lambda's lowercase userIdentity", async () => {
    const { calls, poller } = run(mapping({}), [record(0, 0, true)], () => ok(null), { now: 0 });
    await until('a call', () => calls.length === 1);
    await poller.stop();
    assert.deepEqual(calls[0]!.Records[0]!.userIdentity, {
      type: 'Service',
      principalId: 'dynamodb.amazonaws.com',
    });
  });

  test('a closed shard read to its end finishes, its checkpoint marked done', async () => {
    const m = mapping({});
    const { calls, store, poller } = run(
      m,
      [record(0, 0), record(1, 0)],
      () => ok(null),
      { now: 0 },
      true,
    );
    await until('finished', () => poller.finished);
    await poller.stop();
    assert.equal(calls.length, 1);
    assert.deepEqual(await store.checkpoint(m.uuid, 'shardId-1'), {
      after: record(1, 0).dynamodb.SequenceNumber,
      done: true,
    });
  });

  test('ParallelizationFactor runs that many batches of a shard at once, each item in order', async () => {
    const records = Array.from({ length: 60 }, (_, i) => ({
      ...record(i, 0),
      dynamodb: { ...record(i, 0).dynamodb, Keys: { id: { S: `k${i % 6}` } } },
    }));
    const m = mapping({ parallelizationFactor: 3, batchSize: 5 });
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    const store = new MemoryMappingStore();
    const poller = makeShardPoller(
      {
        api: stream(records, true),
        store,
        mapping: () => m,
        invoke: async (_m, payload) => {
          most = Math.max(most, ++inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          const event = JSON.parse(payload) as {
            Records: { dynamodb: { Keys: { id: { S: string } }; SequenceNumber: string } }[];
          };
          for (const r of event.Records) {
            order.push(`${r.dynamodb.Keys.id.S} ${r.dynamodb.SequenceNumber}`);
          }
          return ok(null);
        },
        deliver: () => Promise.resolve(),
        functionArn: () => 'arn:aws:lambda:us-east-1:000000000000:function:f',
        metrics: makeEventSourceMetrics(new Registry()),
        log: makeLogger('test', { level: 'error' }),
        clock: () => 0,
        token: 'me',
        options: { pollMs: 1, leaseMs: 60_000, retryBaseMs: 1, retryMaxMs: 2 },
      },
      ARN,
      'shardId-1',
    );
    await until('finished', () => poller.finished);
    await poller.stop();
    assert.equal(order.length, 60);
    assert.ok(most > 1, `batches ran at once (at most ${most})`);
    for (let k = 0; k < 6; k++) {
      const mine = order.filter((o) => o.startsWith(`k${k} `)).map((o) => o.split(' ')[1]!);
      assert.deepEqual(mine, [...mine].sort(), `k${k} in order`);
    }
    assert.equal((await store.checkpoint(m.uuid, 'shardId-1'))?.done, true);
  });
});
