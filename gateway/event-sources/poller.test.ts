// The shard poller against an in-memory stream and a test clock: what a
// ReportBatchItemFailures answer resumes from, records aged out past
// MaximumRecordAgeInSeconds, the Lambda event shape of a TTL deletion, and tumbling
// windows (records grouped by window, the state carried and reset, the final
// invocation, the state kept with the checkpoint across a restart).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { makeLogger } from '../../lib/log.ts';
import type { InvokeOutcome } from '../invoker.ts';
import type { Mapping } from './mapping.ts';
import { makeEventSourceMetrics } from './metrics.ts';
import { makeShardPoller } from './poller.ts';
import { MemoryMappingStore } from './store.ts';
import type { StreamRecord, StreamsApi } from './streams-client.ts';
import { STREAM_ARN, streamMapping } from '../../test/support/stream-mapping.ts';

const ARN = STREAM_ARN;

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

const mapping = streamMapping;

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

interface WindowEvent {
  Records: { dynamodb: { SequenceNumber: string } }[];
  window: { start: string; end: string };
  state: Record<string, unknown>;
  shardId: string;
  eventSourceARN: string;
  isFinalInvokeForWindow: boolean;
  isWindowTerminatedEarly: boolean;
}

/** A windowed poller; `reads` counts GetRecords calls (to see time pass without a call). */
function runWindowed(
  m: Mapping,
  records: StreamRecord[],
  answer: (e: WindowEvent, call: number) => InvokeOutcome,
  clock: { now: number },
  opts: { closed?: boolean; store?: MemoryMappingStore } = {},
) {
  const calls: WindowEvent[] = [];
  const reads = { n: 0 };
  const api = stream(records, opts.closed);
  const store = opts.store ?? new MemoryMappingStore(undefined, () => clock.now);
  const poller = makeShardPoller(
    {
      api: {
        ...api,
        records: (it, limit) => {
          reads.n++;
          return api.records(it, limit);
        },
      },
      store,
      mapping: () => m,
      invoke: (_m, payload) => {
        const e = JSON.parse(payload) as WindowEvent;
        calls.push(e);
        return Promise.resolve(answer(e, calls.length));
      },
      deliver: () => Promise.resolve(),
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
  return { calls, reads, store, poller };
}

/** An aggregating handler: counts the records of its window in state.count. */
const counting = (e: WindowEvent) =>
  ok({ state: { count: Number(e.state.count ?? 0) + e.Records.length } });

/** What a call shows: its window's start, the state it got, its records, and its flags. */
const shown = (e: WindowEvent) => ({
  start: e.window.start,
  state: e.state,
  records: e.Records.map((r) => Number(r.dynamodb.SequenceNumber) - 1000),
  final: e.isFinalInvokeForWindow,
  early: e.isWindowTerminatedEarly,
});

describe('tumbling windows', () => {
  test('records are grouped by window, the state carried within a window and reset for the next, each window ending with a final invocation', async () => {
    // Windows of 60 s: records 0-2 in [00:00, 01:00), 3-4 in [01:00, 02:00); the clock is past both.
    const records = [record(0, 10), record(1, 10), record(2, 30), record(3, 70), record(4, 70)];
    const m = mapping({ tumblingWindowInSeconds: 60, batchSize: 2 });
    const { calls, store, poller } = runWindowed(m, records, counting, { now: 200_000 });
    await until('five calls', () => calls.length >= 5);
    await poller.stop();
    const w0 = '1970-01-01T00:00:00Z';
    const w1 = '1970-01-01T00:01:00Z';
    assert.deepEqual(calls.map(shown), [
      { start: w0, state: {}, records: [0, 1], final: false, early: false },
      // The batch ends at the window's end, though it could hold 2 records.
      { start: w0, state: { count: 2 }, records: [2], final: false, early: false },
      { start: w0, state: { count: 3 }, records: [], final: true, early: false },
      { start: w1, state: {}, records: [3, 4], final: false, early: false },
      { start: w1, state: { count: 2 }, records: [], final: true, early: false },
    ]);
    assert.equal(calls[0]!.window.end, w1);
    assert.equal(calls[0]!.shardId, 'shardId-1');
    assert.equal(calls[0]!.eventSourceARN, ARN);
    assert.deepEqual(await store.checkpoint(m.uuid, 'shardId-1'), {
      after: records[4]!.dynamodb.SequenceNumber,
    });
  });

  test('the state is kept with the checkpoint; the final invocation waits until the clock is past the window', async () => {
    const clock = { now: 30_000 };
    const m = mapping({ tumblingWindowInSeconds: 60 });
    const { calls, reads, store, poller } = runWindowed(m, [record(0, 10)], counting, clock);
    await until('the first call', () => calls.length === 1);
    const seen = reads.n;
    await until('more reads', () => reads.n > seen + 5);
    assert.equal(calls.length, 1, 'no final invocation before the window ends');
    assert.deepEqual(await store.checkpoint(m.uuid, 'shardId-1'), {
      after: record(0, 10).dynamodb.SequenceNumber,
      window: { start: 0, end: 60, state: { count: 1 } },
    });
    clock.now = 61_000;
    await until('the final call', () => calls.length === 2);
    await poller.stop();
    assert.deepEqual(shown(calls[1]!), {
      start: '1970-01-01T00:00:00Z',
      state: { count: 1 },
      records: [],
      final: true,
      early: false,
    });
  });

  test("a restart mid-window resumes after the checkpoint with the window's state (the failed batch again)", async () => {
    const clock = { now: 30_000 };
    const m = mapping({ tumblingWindowInSeconds: 60, batchSize: 1 });
    const records = [record(0, 10), record(1, 20)];
    const store = new MemoryMappingStore(undefined, () => clock.now);
    const first = runWindowed(m, records, (e, call) => (call === 1 ? counting(e) : failed), clock, {
      store,
    });
    await until('the second call failing', () => first.calls.length >= 2);
    await first.poller.stop();
    const second = runWindowed(m, records, counting, clock, { store });
    await until('the resumed call', () => second.calls.length >= 1);
    await second.poller.stop();
    assert.deepEqual(shown(second.calls[0]!), {
      start: '1970-01-01T00:00:00Z',
      state: { count: 1 },
      records: [1],
      final: false,
      early: false,
    });
  });

  test('an answer without a state fails the batch: it is retried with the same state', async () => {
    const m = mapping({ tumblingWindowInSeconds: 60 });
    const { calls, poller } = runWindowed(
      m,
      [record(0, 10)],
      (e, call) => (call === 1 ? ok({ batchItemFailures: [] }) : counting(e)),
      { now: 30_000 },
    );
    await until('two calls', () => calls.length >= 2);
    await poller.stop();
    assert.deepEqual(calls.slice(0, 2).map(shown), [
      { start: '1970-01-01T00:00:00Z', state: {}, records: [0], final: false, early: false },
      { start: '1970-01-01T00:00:00Z', state: {}, records: [0], final: false, early: false },
    ]);
  });

  test("ReportBatchItemFailures in a window: the batch resumes at the failed record with the answer's state", async () => {
    const m = mapping({
      tumblingWindowInSeconds: 60,
      functionResponseTypes: ['ReportBatchItemFailures'],
    });
    const { calls, poller } = runWindowed(
      m,
      [record(0, 10), record(1, 10), record(2, 10)],
      (e, call) =>
        call === 1
          ? ok({
              state: { count: 1 },
              batchItemFailures: [{ itemIdentifier: e.Records[1]!.dynamodb.SequenceNumber }],
            })
          : counting(e),
      { now: 30_000 },
    );
    await until('two calls', () => calls.length >= 2);
    await poller.stop();
    assert.deepEqual(calls.slice(0, 2).map(shown), [
      { start: '1970-01-01T00:00:00Z', state: {}, records: [0, 1, 2], final: false, early: false },
      {
        start: '1970-01-01T00:00:00Z',
        state: { count: 1 },
        records: [1, 2],
        final: false,
        early: false,
      },
    ]);
  });

  test('the end of a closed shard ends its window early; the checkpoint is then done', async () => {
    const m = mapping({ tumblingWindowInSeconds: 60 });
    const { calls, store, poller } = runWindowed(
      m,
      [record(0, 10)],
      counting,
      { now: 30_000 },
      {
        closed: true,
      },
    );
    await until('finished', () => poller.finished);
    await poller.stop();
    assert.deepEqual(calls.map(shown), [
      { start: '1970-01-01T00:00:00Z', state: {}, records: [0], final: false, early: false },
      { start: '1970-01-01T00:00:00Z', state: { count: 1 }, records: [], final: true, early: true },
    ]);
    assert.deepEqual(await store.checkpoint(m.uuid, 'shardId-1'), {
      after: record(0, 10).dynamodb.SequenceNumber,
      done: true,
    });
  });

  test('a window turned off by an update ends early; the records after it come without window', async () => {
    const records = [record(0, 10), record(1, 20)];
    const m = mapping({ tumblingWindowInSeconds: 60, batchSize: 1 });
    const { calls, poller } = runWindowed(
      m,
      records,
      (e, call) => {
        if (call === 1) m.tumblingWindowInSeconds = 0;
        return call <= 2 ? counting(e) : ok(null);
      },
      { now: 30_000 },
    );
    await until('three calls', () => calls.length >= 3);
    await poller.stop();
    assert.deepEqual(calls.slice(0, 2).map(shown), [
      { start: '1970-01-01T00:00:00Z', state: {}, records: [0], final: false, early: false },
      { start: '1970-01-01T00:00:00Z', state: { count: 1 }, records: [], final: true, early: true },
    ]);
    assert.deepEqual(Object.keys(calls[2]!), ['Records']);
  });

  test('a record stamped before the open window (out of order) is aggregated in it', async () => {
    const m = mapping({ tumblingWindowInSeconds: 60, batchSize: 1 });
    const { calls, poller } = runWindowed(m, [record(0, 70), record(1, 50)], counting, {
      now: 100_000,
    });
    await until('two calls', () => calls.length >= 2);
    await poller.stop();
    assert.deepEqual(calls.slice(0, 2).map(shown), [
      { start: '1970-01-01T00:01:00Z', state: {}, records: [0], final: false, early: false },
      {
        start: '1970-01-01T00:01:00Z',
        state: { count: 1 },
        records: [1],
        final: false,
        early: false,
      },
    ]);
  });

  test('a state above 1 MB ends the window early; its next records begin a fresh state', async () => {
    const m = mapping({ tumblingWindowInSeconds: 60, batchSize: 1 });
    const big = 'x'.repeat(1024 * 1024);
    const { calls, poller } = runWindowed(
      m,
      [record(0, 10), record(1, 20)],
      (e, call) => (call === 1 ? ok({ state: { big } }) : counting(e)),
      { now: 200_000 },
    );
    await until('four calls', () => calls.length >= 4);
    await poller.stop();
    assert.deepEqual(
      calls.map((e) => ({ ...shown(e), state: e.state.big ? 'big' : e.state })),
      [
        { start: '1970-01-01T00:00:00Z', state: {}, records: [0], final: false, early: false },
        { start: '1970-01-01T00:00:00Z', state: 'big', records: [], final: true, early: true },
        { start: '1970-01-01T00:00:00Z', state: {}, records: [1], final: false, early: false },
        {
          start: '1970-01-01T00:00:00Z',
          state: { count: 1 },
          records: [],
          final: true,
          early: false,
        },
      ],
    );
  });
});
