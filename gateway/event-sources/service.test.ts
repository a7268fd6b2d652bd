// The event sources over a fake Streams API whose stream has split: a closed parent
// shard, its child, a grandchild, and a shard whose parent has aged out of the stream.
// A child is read only once its parent is read to its end (here or, by its
// checkpoint, by another replica); an orphan is read at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { makeLogger } from '../../lib/log.ts';
import type { InvokeOutcome, Invoker } from '../invoker.ts';
import type { FunctionRegistry } from '../registry.ts';
import { makeEventSources } from './service.ts';
import { MemoryMappingStore } from './store.ts';
import type { Shard, StreamRecord, StreamsApi } from './streams-client.ts';
import { STREAM_ARN, streamMapping } from '../../test/support/stream-mapping.ts';

const ARN = STREAM_ARN;

const record = (seq: number, key: string): StreamRecord => ({
  eventID: `e${seq}`,
  eventName: 'MODIFY',
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: 'us-east-1',
  dynamodb: {
    ApproximateCreationDateTime: 1,
    Keys: { id: { S: key } },
    SequenceNumber: String(seq).padStart(21, '0'),
    SizeBytes: 10,
    StreamViewType: 'KEYS_ONLY',
  },
});

/** Shards of lists of records; a shard with an ending sequence number is closed. */
function splitStream(
  shards: { shard: Shard; records: StreamRecord[] }[],
): StreamsApi & { reads: string[] } {
  const reads: string[] = [];
  const of = (id: string) => shards.find((s) => s.shard.ShardId === id)!;
  return {
    reads,
    describeTable: () => Promise.resolve({ LatestStreamArn: ARN, StreamEnabled: true }),
    describeStream: () =>
      Promise.resolve({ status: 'ENABLED', shards: shards.map((s) => s.shard) }),
    shardIterator: (_arn, shard, type, seq) => {
      const { records } = of(shard);
      const at =
        type === 'TRIM_HORIZON'
          ? 0
          : type === 'LATEST'
            ? records.length
            : records.findIndex((r) => r.dynamodb.SequenceNumber === seq) + 1;
      return Promise.resolve(`${shard}/${at}`);
    },
    records: (it, limit) => {
      const [shard, n] = it.split('/') as [string, string];
      const { shard: s, records } = of(shard);
      if (!reads.includes(shard)) reads.push(shard);
      const at = Number(n);
      const out = records.slice(at, at + limit);
      const closed = s.SequenceNumberRange.EndingSequenceNumber !== undefined;
      const end = closed && at + out.length >= records.length;
      return Promise.resolve({
        records: out,
        ...(!end && { next: `${shard}/${at + out.length}` }),
      });
    },
  };
}

const mapping = streamMapping;

const ok: InvokeOutcome = {
  ok: true,
  result: {
    requestId: 'r',
    payload: Buffer.from('null'),
    durationMs: 1,
    billedDurationMs: 1,
    maxMemoryUsedMB: 1,
  },
};

const closed = (id: string, parent?: string, end = '9'): Shard => ({
  ShardId: id,
  ...(parent && { ParentShardId: parent }),
  SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: end },
});

async function until(what: () => boolean | Promise<boolean>, label: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await what()) return;
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.fail(`timed out waiting for ${label}`);
}

function sources(
  api: StreamsApi,
  store: MemoryMappingStore,
  invoked: string[][],
  hold: Set<string>,
) {
  let release: (() => void) | undefined;
  const invoke = ((_fn: unknown, req: { payload: Buffer }) => {
    const keys = (
      JSON.parse(req.payload.toString()) as {
        Records: { dynamodb: { Keys: { id: { S: string } } } }[];
      }
    ).Records.map((r) => r.dynamodb.Keys.id.S);
    invoked.push(keys);
    const held = keys.find((k) => hold.has(k));
    if (held === undefined) return Promise.resolve(ok);
    hold.delete(held);
    return new Promise<InvokeOutcome>((r) => (release = () => r(ok)));
  }) as unknown as Invoker;
  const es = makeEventSources({
    store,
    streams: api,
    refreshMs: 5,
    poller: { pollMs: 1, leaseMs: 60_000, retryBaseMs: 1, retryMaxMs: 2 },
  })({
    registry: { list: () => [], resolve: () => ({}) } as unknown as FunctionRegistry,
    account: { region: 'us-east-1', accountId: '000000000000' },
    invoke,
    metricsRegistry: new Registry(),
    log: makeLogger('test', { level: 'error' }),
  });
  return { es, release: () => release?.() };
}

test('a child shard is read only after its parent is read to its end; a grandchild after the child; an orphan at once', async () => {
  const api = splitStream([
    { shard: closed('shardId-parent'), records: [record(1, 'a'), record(2, 'b')] },
    { shard: closed('shardId-child', 'shardId-parent', '20'), records: [record(10, 'a')] },
    {
      shard: {
        ShardId: 'shardId-grandchild',
        ParentShardId: 'shardId-child',
        SequenceNumberRange: { StartingSequenceNumber: '21' },
      },
      records: [record(21, 'b')],
    },
    {
      shard: {
        ShardId: 'shardId-orphan',
        ParentShardId: 'shardId-trimmed',
        SequenceNumberRange: { StartingSequenceNumber: '30' },
      },
      records: [record(30, 'z')],
    },
  ]);
  const store = new MemoryMappingStore();
  const m = mapping();
  await store.create(m);
  const invoked: string[][] = [];
  // The parent's batch (the first with 'a') is held: meanwhile the child must not be read.
  const { es, release } = sources(api, store, invoked, new Set(['a']));
  try {
    await until(() => invoked.some((b) => b.includes('z')), 'the orphan');
    await until(() => invoked.some((b) => b.includes('a')), "the parent's batch");
    for (let i = 0; i < 5; i++) await es.refresh();
    assert.deepEqual(api.reads.sort(), ['shardId-orphan', 'shardId-parent']);
    release();
    await until(() => invoked.length === 4, 'every shard');
    // The orphan ran beside the parent; the family in order, parent first.
    assert.deepEqual(
      invoked.filter((b) => !b.includes('z')),
      [['a', 'b'], ['a'], ['b']],
    );
    assert.deepEqual(await store.checkpoint(m.uuid, 'shardId-child'), {
      after: record(10, 'a').dynamodb.SequenceNumber,
      done: true,
    });
  } finally {
    release();
    await es.close();
  }
});

test('a parent another replica read to its end (its checkpoint says done) is not read again: its child is read at once', async () => {
  const api = splitStream([
    { shard: closed('shardId-parent'), records: [record(1, 'a')] },
    {
      shard: {
        ShardId: 'shardId-child',
        ParentShardId: 'shardId-parent',
        SequenceNumberRange: { StartingSequenceNumber: '10' },
      },
      records: [record(10, 'a')],
    },
  ]);
  const store = new MemoryMappingStore();
  const m = mapping();
  await store.create(m);
  await store.lease(m.uuid, 'shardId-parent', 'other', 60_000);
  await store.commit(m.uuid, 'shardId-parent', 'other', {
    after: record(1, 'a').dynamodb.SequenceNumber,
    done: true,
  });
  await store.release(m.uuid, 'shardId-parent', 'other');
  const invoked: string[][] = [];
  const { es } = sources(api, store, invoked, new Set());
  try {
    await until(() => invoked.length === 1, 'the child');
    assert.deepEqual(invoked, [['a']]);
    assert.deepEqual(api.reads, ['shardId-child']);
  } finally {
    await es.close();
  }
});
