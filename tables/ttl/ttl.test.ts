// Time to live on sqlite and on a real Cassandra: UpdateTimeToLive and
// DescribeTimeToLive with DynamoDB's words, and the expirer on a clock the test
// moves: it deletes exactly the items whose TTL Number has passed (not a string,
// not one more than five years past), each as a service deletion in the stream;
// one expirer at a time holds the lease; a pass looks at a bounded number of items.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  DescribeStreamCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { cqlConfig, dropKeyspace, engineKinds, rejectsWith } from '../../test/support/tables.ts';
import { streamsHarness, type Replica, type StreamsHarness } from '../testing/streams.ts';

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });
let tableNo = 0;

async function table(r: Replica, stream = false) {
  const name = `ttl${++tableNo}`;
  const out = await r.client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'p', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'p', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      ...(stream && {
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    }),
  );
  return { name, arn: out.TableDescription!.LatestStreamArn };
}

const enable = (r: Replica, name: string, attribute = 'exp', Enabled = true) =>
  r.client.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { AttributeName: attribute, Enabled },
    }),
  );

for (const kind of engineKinds.filter((k) => (process.env.TABLES_ENGINE ?? k) === k)) {
  describe(`Time to live on ${kind}`, () => {
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

    test("UpdateTimeToLive and DescribeTimeToLive: ENABLED with its attribute, DISABLED, and DynamoDB's refusals", async () => {
      const { name } = await table(r);
      const describeTtl = async () =>
        (await r.client.send(new DescribeTimeToLiveCommand({ TableName: name })))
          .TimeToLiveDescription;
      assert.deepEqual(await describeTtl(), { TimeToLiveStatus: 'DISABLED' });
      await rejectsWith(
        enable(r, name, 'exp', false),
        'ValidationException',
        'TimeToLive is already disabled',
      );
      const on = await enable(r, name);
      assert.deepEqual(on.TimeToLiveSpecification, { AttributeName: 'exp', Enabled: true });
      assert.deepEqual(await describeTtl(), { TimeToLiveStatus: 'ENABLED', AttributeName: 'exp' });
      await rejectsWith(enable(r, name), 'ValidationException', 'TimeToLive is already enabled');
      await rejectsWith(
        enable(r, name, 'other'),
        'ValidationException',
        'TimeToLive is active on a different AttributeName: current AttributeName is exp',
      );
      await rejectsWith(
        enable(r, name, 'other', false),
        'ValidationException',
        'TimeToLive is active on a different AttributeName: current AttributeName is exp',
      );
      h.clock.offset += 60 * 60 * 1000;
      await enable(r, name, 'exp', false);
      assert.deepEqual(await describeTtl(), { TimeToLiveStatus: 'DISABLED' });
      await rejectsWith(
        enable(r, name, 'x'.repeat(256)),
        'ValidationException',
        `1 validation error detected: Value '${'x'.repeat(256)}' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length less than or equal to 255`,
      );
      await rejectsWith(enable(r, 'no-such-table'), 'ResourceNotFoundException');
      h.clock.offset = 0;
    });

    test('UpdateTimeToLive takes one change per table an hour; a change that would change nothing is refused first', async () => {
      const { name } = await table(r);
      const { name: other } = await table(r);
      await enable(r, name);
      await enable(r, other);
      const limit = 'Time to live has been modified multiple times within a fixed interval';
      h.clock.offset += 59 * 60 * 1000;
      await rejectsWith(enable(r, name, 'exp', false), 'ValidationException', limit);
      await rejectsWith(enable(r, name), 'ValidationException', 'TimeToLive is already enabled');
      h.clock.offset += 60 * 1000;
      await enable(r, name, 'exp', false);
      await rejectsWith(enable(r, name), 'ValidationException', limit);
      await rejectsWith(
        enable(r, name, 'exp', false),
        'ValidationException',
        'TimeToLive is already disabled',
      );
      // The refusal changed nothing: the hour still counts from the disabling.
      h.clock.offset += 60 * 60 * 1000;
      await enable(r, name, 'other');
      await enable(r, other, 'exp', false);
      const status = async (t: string) =>
        (await r.client.send(new DescribeTimeToLiveCommand({ TableName: t })))
          .TimeToLiveDescription;
      assert.deepEqual(await status(name), { TimeToLiveStatus: 'ENABLED', AttributeName: 'other' });
      assert.deepEqual(await status(other), { TimeToLiveStatus: 'DISABLED' });
      h.clock.offset = 0;
    });

    test('the expirer deletes exactly the items whose TTL Number has passed, as service deletions in the stream', async () => {
      const { name, arn } = await table(r, true);
      await enable(r, name);
      const now = Math.floor(Date.now() / 1000);
      const items: Record<string, AttributeValue | undefined> = {
        past: N(String(now - 60)),
        pastExponent: N(`${Math.floor((now - 60) / 10)}e1`),
        pastFraction: N(`${now - 60}.25`),
        soon: N(String(now + 100)),
        future: N(String(now + 10_000)),
        string: S(String(now - 60)),
        missing: undefined,
        ancient: N(String(now - 6 * 365 * 24 * 3600)),
      };
      for (const [p, exp] of Object.entries(items)) {
        await r.client.send(
          new PutItemCommand({ TableName: name, Item: { p: S(p), ...(exp && { exp }) } }),
        );
      }
      const shard = (await r.streams.send(new DescribeStreamCommand({ StreamArn: arn! })))
        .StreamDescription!.Shards![0]!;
      const it = (
        await r.streams.send(
          new GetShardIteratorCommand({
            StreamArn: arn!,
            ShardId: shard.ShardId,
            ShardIteratorType: 'LATEST',
          }),
        )
      ).ShardIterator!;
      const alive = async () => {
        const out: string[] = [];
        for (const p of Object.keys(items)) {
          const got = await r.client.send(
            new GetItemCommand({ TableName: name, Key: { p: S(p) } }),
          );
          if (got.Item) out.push(p);
        }
        return out.sort();
      };
      // Expired but not yet deleted: still readable, as on DynamoDB.
      assert.equal((await alive()).length, 8);
      assert.equal(await r.handler.expirer!.runOnce(), 3);
      assert.deepEqual(await alive(), ['ancient', 'future', 'missing', 'soon', 'string']);
      h.clock.offset = 200_000;
      assert.equal(await r.handler.expirer!.runOnce(), 1);
      assert.deepEqual(await alive(), ['ancient', 'future', 'missing', 'string']);
      const records = (await r.streams.send(new GetRecordsCommand({ ShardIterator: it }))).Records!;
      assert.deepEqual(records.map((x) => x.dynamodb!.Keys!.p!.S).sort(), [
        'past',
        'pastExponent',
        'pastFraction',
        'soon',
      ]);
      for (const x of records) {
        assert.equal(x.eventName, 'REMOVE');
        assert.deepEqual(x.userIdentity, {
          Type: 'Service',
          PrincipalId: 'dynamodb.amazonaws.com',
        });
        assert.ok(x.dynamodb!.OldImage!.exp);
      }
      h.clock.offset = 0;
    });

    test('an item rewritten with a later expiry between the scan and the delete survives', async () => {
      const { name } = await table(r);
      await enable(r, name);
      const now = Math.floor(Date.now() / 1000);
      await r.client.send(
        new PutItemCommand({ TableName: name, Item: { p: S('a'), exp: N(String(now + 50)) } }),
      );
      // The clock passes the first expiry only: a later one is written before the pass.
      await r.client.send(
        new PutItemCommand({ TableName: name, Item: { p: S('a'), exp: N(String(now + 500)) } }),
      );
      h.clock.offset = 100_000;
      assert.equal(await r.handler.expirer!.runOnce(), 0);
      const got = await r.client.send(new GetItemCommand({ TableName: name, Key: { p: S('a') } }));
      assert.ok(got.Item);
      h.clock.offset = 0;
    });

    test('one expirer at a time: a second replica gets no lease while the first holds it', async () => {
      const { name } = await table(r);
      await enable(r, name);
      const r2 = await h.replica();
      await r.handler.expirer!.runOnce(); // takes the lease
      const past = String(Math.floor(Date.now() / 1000) - 10);
      await r.client.send(
        new PutItemCommand({ TableName: name, Item: { p: S('x'), exp: N(past) } }),
      );
      assert.equal(await r2.handler.expirer!.runOnce(), 0);
      assert.ok(
        (await r.client.send(new GetItemCommand({ TableName: name, Key: { p: S('x') } }))).Item,
      );
      assert.equal(await r.handler.expirer!.runOnce(), 1);
      // The lease itself: held, refused to another holder, renewed, then lapsed.
      assert.equal(await r.engine.lease('test-lease', 'a', 60_000), true);
      assert.equal(await r2.engine.lease('test-lease', 'b', 60_000), false);
      assert.equal(await r.engine.lease('test-lease', 'a', 1000), true);
      await new Promise((res) => setTimeout(res, 1100));
      assert.equal(await r2.engine.lease('test-lease', 'b', 60_000), true);
    });

    test('a pass looks at a bounded number of items and the next goes on where it stopped', async () => {
      const config = kind === 'sqlite' ? { engine: 'sqlite' as const } : await cqlConfig();
      const h2 = await streamsHarness(config, {
        visibilityMs: 0,
        ttl: { itemsPerPass: 3 },
        cleanup: async () => {
          if (config.engine === 'cql') await dropKeyspace(config).catch(() => dropKeyspace(config));
        },
      });
      try {
        const r2 = await h2.replica();
        const { name } = await table(r2);
        await enable(r2, name);
        const past = String(Math.floor(Date.now() / 1000) - 10);
        for (let i = 0; i < 7; i++) {
          await r2.client.send(
            new PutItemCommand({ TableName: name, Item: { p: S(`i${i}`), exp: N(past) } }),
          );
        }
        const passes: number[] = [];
        for (let i = 0; i < 4; i++) passes.push(await r2.handler.expirer!.runOnce());
        assert.ok(
          passes.every((n) => n <= 3),
          String(passes),
        );
        assert.equal(
          passes.reduce((a, b) => a + b, 0),
          7,
        );
      } finally {
        await h2.close();
      }
    });
  });
}
