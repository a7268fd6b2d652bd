// UpdateTable's GlobalSecondaryIndexUpdates on sqlite and on CQL (a real
// Cassandra): the actions run against a real engine with an index builder whose
// wait the test holds and releases, so CREATING and DELETING are observed for
// certain and the end of the background work is awaited, never slept for.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { actions } from './actions/index.ts';
import type { ActionContext, Request } from './actions/context.ts';
import { openEngine, type EngineConfig } from './engine.ts';
import type { DynamoError } from './errors.ts';
import { makeIndexBuilder, type IndexBuilder } from './storage/backfill.ts';
import type { StorageEngine } from './storage/engine.ts';
import { cqlConfig, dropKeyspace, engineKinds } from '../test/support/tables.ts';

const invalid = 'One or more parameter values were invalid: ';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A builder whose settle wait the test releases by hand. */
function heldBuilder(engine: StorageEngine) {
  let waiting = deferred();
  let release = () => {};
  const builder = makeIndexBuilder({
    engine,
    wait: () => {
      const d = deferred();
      release = d.resolve;
      waiting.resolve();
      return d.promise;
    },
  });
  return {
    builder,
    /** Resolves once the builder waits before touching the items. */
    async held() {
      await waiting.promise;
      waiting = deferred();
    },
    release: () => release(),
  };
}

async function rejects(p: Promise<unknown>, type: string, message: string | RegExp) {
  await assert.rejects(p, (err: DynamoError) => {
    assert.equal(err.type, type, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

for (const kind of engineKinds) {
  describe(`index lifecycle on ${kind}`, () => {
    let config: EngineConfig;
    let engine: StorageEngine;
    let hold: ReturnType<typeof heldBuilder>;
    const ctxOf = (e: StorageEngine, indexes?: IndexBuilder): ActionContext => ({
      engine: e,
      region: 'us-east-1',
      accountId: '000000000000',
      indexes,
    });
    const call = (action: string, req: Request, ctx = ctxOf(engine, hold.builder)) =>
      actions[action]!(ctx, req) as Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const put = (Item: Record<string, unknown>) => call('PutItem', { TableName: 'things', Item });
    const gsis = async (ctx = ctxOf(engine)) =>
      ((await call('DescribeTable', { TableName: 'things' }, ctx)).Table.GlobalSecondaryIndexes ??
        []) as Record<string, unknown>[];
    const byX = (x: string) =>
      call('Query', {
        TableName: 'things',
        IndexName: 'by-x',
        KeyConditionExpression: 'x = :x',
        ExpressionAttributeValues: { ':x': { S: x } },
      });
    const createByX = () =>
      call('UpdateTable', {
        TableName: 'things',
        AttributeDefinitions: [{ AttributeName: 'x', AttributeType: 'S' }],
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: 'by-x',
              KeySchema: [{ AttributeName: 'x', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'ALL' },
            },
          },
        ],
      });
    const ids = (items: { id: { S: string } }[]) => items.map((i) => i.id.S).sort();

    before(async () => {
      // A file, so that a second engine (the next process) sees the same tables.
      config =
        kind === 'sqlite'
          ? { engine: 'sqlite', file: join(tmpdir(), `lifecycle-${randomUUID()}.db`) }
          : await cqlConfig();
      engine = await openEngine(config);
      hold = heldBuilder(engine);
      await call('CreateTable', {
        TableName: 'things',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      });
      for (let i = 1; i <= 5; i++) await put({ id: { S: `i${i}` }, x: { S: `x${i % 2}` } });
      // Before the index exists any type is allowed; the backfill leaves these out.
      await put({ id: { S: 'none' } });
      await put({ id: { S: 'number' }, x: { N: '7' } });
      await put({ id: { S: 'empty' }, x: { S: '' } });
    });
    after(async () => {
      await engine?.close();
      if (config?.engine === 'cql') await dropKeyspace(config);
      else if (config?.file)
        for (const f of [config.file, `${config.file}-wal`, `${config.file}-shm`])
          await rm(f, { force: true });
    });

    test('a GSI added by UpdateTable is CREATING and unreadable until backfilled, then ACTIVE with every item', async () => {
      const res = await createByX();
      const created = (
        res.TableDescription.GlobalSecondaryIndexes as Record<string, unknown>[]
      )[0]!;
      assert.equal(created.IndexName, 'by-x');
      assert.equal(created.IndexStatus, 'CREATING');
      assert.equal(created.Backfilling, true);
      assert.deepEqual(res.TableDescription.AttributeDefinitions, [
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'x', AttributeType: 'S' },
      ]);
      await hold.held();
      assert.equal((await gsis())[0]!.IndexStatus, 'CREATING');
      await rejects(
        byX('x1'),
        'ValidationException',
        'Cannot read from backfilling global secondary index: by-x',
      );
      // Writes during the backfill are indexed and checked against the new key.
      await put({ id: { S: 'during' }, x: { S: 'x1' } });
      await rejects(
        put({ id: { S: 'bad' }, x: { N: '1' } }),
        'ValidationException',
        `${invalid}Type mismatch for Index Key x Expected: S Actual: N IndexName: by-x`,
      );
      await rejects(
        createByX(),
        'LimitExceededException',
        'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table',
      );
      hold.release();
      await hold.builder.start('things');
      const [active] = await gsis();
      assert.equal(active!.IndexStatus, 'ACTIVE');
      assert.equal(active!.Backfilling, undefined);
      assert.deepEqual(ids((await byX('x1')).Items), ['during', 'i1', 'i3', 'i5']);
      assert.deepEqual(ids((await byX('x0')).Items), ['i2', 'i4']);
      const scan = await call('Scan', { TableName: 'things', IndexName: 'by-x' });
      assert.equal(scan.Count, 6, 'items without a valid x are left out');
      // An item kept from before the index is updated as long as x stays as it was.
      const setY = (expr: string, v: unknown) =>
        call('UpdateItem', {
          TableName: 'things',
          Key: { id: { S: 'number' } },
          UpdateExpression: expr,
          ExpressionAttributeValues: { ':v': v },
        });
      await setY('SET y = :v', { S: 'fine' });
      await rejects(
        setY('SET x = :v', { N: '8' }),
        'ValidationException',
        `${invalid}Type mismatch for Index Key x Expected: S Actual: N IndexName: by-x`,
      );
    });

    test('a GSI deleted by UpdateTable is DELETING and unreadable, then gone, and can be added again', async () => {
      const res = await call('UpdateTable', {
        TableName: 'things',
        GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'by-x' } }],
      });
      assert.equal(res.TableDescription.GlobalSecondaryIndexes[0].IndexStatus, 'DELETING');
      await hold.held();
      await rejects(
        byX('x1'),
        'ValidationException',
        'The table does not have the specified index: by-x',
      );
      hold.release();
      await hold.builder.start('things');
      assert.deepEqual(await gsis(), []);
      await put({ id: { S: 'now-a-number' }, x: { N: '1' } });
      await createByX();
      await hold.held();
      hold.release();
      await hold.builder.start('things');
      assert.deepEqual(ids((await byX('x0')).Items), ['i2', 'i4']);
    });

    test('index work left by a stopped process is finished by the next one', async () => {
      const stopped = heldBuilder(engine);
      await call(
        'UpdateTable',
        {
          TableName: 'things',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          GlobalSecondaryIndexUpdates: [
            {
              Create: {
                IndexName: 'by-id',
                KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
                Projection: { ProjectionType: 'KEYS_ONLY' },
              },
            },
          ],
        },
        ctxOf(engine, stopped.builder),
      );
      await stopped.held();
      // The next process: its own engine (on CQL its own driver session).
      const next = await openEngine(config);
      try {
        const builder = makeIndexBuilder({ engine: next, settleMs: 0 });
        await builder.resume();
        await builder.start('things');
        const byId = (await gsis(ctxOf(next))).find((g) => g.IndexName === 'by-id')!;
        assert.equal(byId.IndexStatus, 'ACTIVE');
        const one = await call(
          'Query',
          {
            TableName: 'things',
            IndexName: 'by-id',
            KeyConditionExpression: 'id = :i',
            ExpressionAttributeValues: { ':i': { S: 'i3' } },
          },
          ctxOf(next),
        );
        assert.deepEqual(one.Items, [{ id: { S: 'i3' } }]);
      } finally {
        stopped.release();
        await stopped.builder.start('things');
        await next.close();
      }
    });

    test('GlobalSecondaryIndexUpdates are checked with DynamoDB messages', async () => {
      const update = (u: unknown[], defs?: unknown[]) =>
        call('UpdateTable', {
          TableName: 'things',
          GlobalSecondaryIndexUpdates: u,
          ...(defs ? { AttributeDefinitions: defs } : {}),
        });
      const create = (name: string, key: string) => ({
        Create: {
          IndexName: name,
          KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      });
      const y = [{ AttributeName: 'y', AttributeType: 'S' }];
      await rejects(
        update([{}]),
        'ValidationException',
        `${invalid}One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null`,
      );
      await rejects(
        update([{ ...create('a-y', 'y'), Delete: { IndexName: 'by-x' } }], y),
        'ValidationException',
        /^One or more parameter values were invalid: Only one of/,
      );
      await rejects(
        update([create('a-y', 'y'), create('a-y', 'y')], y),
        'ValidationException',
        `${invalid}Only one global secondary index update per index is allowed simultaneously. Index: a-y`,
      );
      await rejects(
        update([create('a-y', 'y'), create('b-y', 'y')], y),
        'LimitExceededException',
        'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table',
      );
      await rejects(update([create('by-x', 'y')], y), 'ValidationException', /already exists/);
      await rejects(
        update([create('a-y', 'y')]),
        'ValidationException',
        `${invalid}Some index key attributes are not defined in AttributeDefinitions. Keys: [y], AttributeDefinitions: []`,
      );
      await rejects(
        update([create('a-x', 'x')], [{ AttributeName: 'x', AttributeType: 'N' }]),
        'ValidationException',
        /^One or more parameter values were invalid: Attributes cannot be redefined/,
      );
      await rejects(
        update([{ Delete: { IndexName: 'nope' } }]),
        'ResourceNotFoundException',
        /nope/,
      );
      await call('CreateTable', {
        TableName: 'full',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: Array.from({ length: 20 }, (_, i) => ({
          IndexName: `gsi${i}`,
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        })),
      });
      await rejects(
        call('UpdateTable', {
          TableName: 'full',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          GlobalSecondaryIndexUpdates: [create('gsi20', 'id')],
        }),
        'ValidationException',
        `${invalid}GlobalSecondaryIndex count exceeds the per-table limit of 20`,
      );
    });
  });
}
