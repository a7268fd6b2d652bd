// GSIs with multi-attribute keys (DynamoDB's Nov 2025 keys: up to 4 partition
// and 4 sort attributes), through the real AWS SDK on sqlite and on CQL (a real
// Cassandra): KeySchema checks, sparse indexing, Query's left-to-right rule and
// the order by the sort attributes in turn, and UpdateTable's backfill.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  ExecuteStatementCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type CreateTableCommandInput,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { actions } from './actions/index.ts';
import type { ActionContext, Request } from './actions/context.ts';
import { makeIndexBuilder } from './storage/backfill.ts';
import { engineKinds, rejectsWith, startHarness, type Harness } from '../test/support/tables.ts';

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });
type Item = Record<string, AttributeValue>;
type KeyType = 'HASH' | 'RANGE';

const keys = (...spec: [string, KeyType][]) =>
  spec.map(([AttributeName, KeyType]) => ({ AttributeName, KeyType }));
const defs = (...spec: [string, 'S' | 'N' | 'B'][]) =>
  spec.map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType }));

/** A table keyed by p with one GSI of the given KeySchema (every attribute an S). */
const tableWith = (name: string, indexKeys: [string, KeyType][]): CreateTableCommandInput => ({
  TableName: name,
  AttributeDefinitions: defs(['p', 'S'], ...indexKeys.map(([n]) => [n, 'S'] as [string, 'S'])),
  KeySchema: keys(['p', 'HASH']),
  GlobalSecondaryIndexes: [
    { IndexName: 'gsi', KeySchema: keys(...indexKeys), Projection: { ProjectionType: 'ALL' } },
  ],
  BillingMode: 'PAY_PER_REQUEST',
});

// h1, h2 partition; r1 (N) then r2 (S) sort.
const orders: CreateTableCommandInput = {
  TableName: 'orders',
  AttributeDefinitions: defs(['p', 'S'], ['h1', 'S'], ['h2', 'S'], ['r1', 'N'], ['r2', 'S']),
  KeySchema: keys(['p', 'HASH']),
  GlobalSecondaryIndexes: [
    {
      IndexName: 'by-h',
      KeySchema: keys(['h1', 'HASH'], ['h2', 'HASH'], ['r1', 'RANGE'], ['r2', 'RANGE']),
      Projection: { ProjectionType: 'KEYS_ONLY' },
    },
  ],
  BillingMode: 'PAY_PER_REQUEST',
};

const order = (p: string, r1: string, r2: string, h2 = 'b'): Item => ({
  p: S(p),
  h1: S('a'),
  h2: S(h2),
  r1: N(r1),
  r2: S(r2),
  extra: S('x'),
});

for (const kind of engineKinds) {
  describe(`multi-attribute GSI keys on ${kind}`, () => {
    let h: Harness;

    const query = async (input: Omit<QueryCommandInput, 'TableName' | 'IndexName'>) => {
      const out: string[] = [];
      let start: Item | undefined;
      do {
        const page = await h.client.send(
          new QueryCommand({
            TableName: 'orders',
            IndexName: 'by-h',
            ExclusiveStartKey: start,
            ...input,
          }),
        );
        out.push(...(page.Items ?? []).map((i) => i.p!.S!));
        start = page.LastEvaluatedKey;
      } while (start);
      return out;
    };
    const eq = (expr: string, values: Record<string, AttributeValue>, more = {}) =>
      query({ KeyConditionExpression: expr, ExpressionAttributeValues: values, ...more });
    const both = { ':h1': S('a'), ':h2': S('b') };

    before(async () => {
      h = await startHarness(kind);
      await h.client.send(new CreateTableCommand(orders));
      const rows: [string, string, string][] = [
        ['o1', '10', 'b'],
        ['o2', '9', 'z'],
        ['o3', '10', 'a'],
        ['o4', '100', 'a'],
        ['o5', '10', 'ab'],
        ['o6', '-1', 'c'],
      ];
      for (const [p, r1, r2] of rows) {
        await h.client.send(new PutItemCommand({ TableName: 'orders', Item: order(p, r1, r2) }));
      }
      // Another partition, and items missing a key attribute: none is in the index.
      await h.client.send(
        new PutItemCommand({ TableName: 'orders', Item: order('other', '10', 'a', 'c') }),
      );
      const partial = order('no-r2', '10', 'a');
      delete partial.r2;
      await h.client.send(new PutItemCommand({ TableName: 'orders', Item: partial }));
      const noH2 = order('no-h2', '10', 'a');
      delete noH2.h2;
      await h.client.send(new PutItemCommand({ TableName: 'orders', Item: noH2 }));
    });
    after(async () => {
      await h?.close();
    });

    test('DescribeTable returns the multi-attribute KeySchema in order, 4 HASH + 4 RANGE allowed', async () => {
      const d = await h.client.send(new DescribeTableCommand({ TableName: 'orders' }));
      assert.deepEqual(
        d.Table!.GlobalSecondaryIndexes![0]!.KeySchema,
        keys(['h1', 'HASH'], ['h2', 'HASH'], ['r1', 'RANGE'], ['r2', 'RANGE']),
      );
      const eight: [string, KeyType][] = [
        ...['a', 'b', 'c', 'd'].map((n) => [n, 'HASH'] as [string, KeyType]),
        ...['e', 'f', 'g', 'h'].map((n) => [n, 'RANGE'] as [string, KeyType]),
      ];
      const created = await h.client.send(new CreateTableCommand(tableWith('eight', eight)));
      assert.equal(created.TableDescription!.GlobalSecondaryIndexes![0]!.KeySchema!.length, 8);
      const hashOnly = await h.client.send(
        new CreateTableCommand(
          tableWith('two-hash', [
            ['a', 'HASH'],
            ['b', 'HASH'],
          ]),
        ),
      );
      assert.deepEqual(
        hashOnly.TableDescription!.GlobalSecondaryIndexes![0]!.KeySchema,
        keys(['a', 'HASH'], ['b', 'HASH']),
      );
    });

    test('CreateTable refuses 5 HASH, 5 RANGE, HASH after RANGE, a duplicate and a multi-attribute LSI', async () => {
      const refused = (name: string, k: [string, KeyType][], message: RegExp) =>
        rejectsWith(
          h.client.send(new CreateTableCommand(tableWith(name, k))),
          'ValidationException',
          message,
        );
      const n = (prefix: string, t: KeyType, count: number) =>
        Array.from({ length: count }, (_, i) => [`${prefix}${i}`, t] as [string, KeyType]);
      await refused('five-hash', n('h', 'HASH', 5), /at most 4 HASH/);
      await refused('five-range', [['h', 'HASH'], ...n('r', 'RANGE', 5)], /at most 4 RANGE/);
      await refused(
        'nine',
        [...n('h', 'HASH', 4), ...n('r', 'RANGE', 5)],
        /length less than or equal to 8/,
      );
      await refused(
        'interleaved',
        [
          ['a', 'HASH'],
          ['b', 'RANGE'],
          ['c', 'HASH'],
        ],
        /HASH key type elements must precede all RANGE/,
      );
      await refused(
        'range-first',
        [
          ['a', 'RANGE'],
          ['b', 'HASH'],
        ],
        /The first KeySchemaElement is not a HASH key type/,
      );
      await refused(
        'duplicate',
        [
          ['a', 'HASH'],
          ['a', 'HASH'],
        ],
        /Duplicate/,
      );
      await rejectsWith(
        h.client.send(
          new CreateTableCommand({
            TableName: 'lsi',
            AttributeDefinitions: defs(['p', 'S'], ['c', 'S'], ['l', 'S']),
            KeySchema: keys(['p', 'HASH'], ['c', 'RANGE']),
            LocalSecondaryIndexes: [
              {
                IndexName: 'lsi',
                KeySchema: keys(['p', 'HASH'], ['c', 'RANGE'], ['l', 'RANGE']),
                Projection: { ProjectionType: 'ALL' },
              },
            ],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        ),
        'ValidationException',
        /length less than or equal to 2/,
      );
    });

    test('Query with every partition attribute reads items in r1 (numeric) then r2 order, only complete ones', async () => {
      const expr = 'h1 = :h1 AND h2 = :h2';
      assert.deepEqual(await eq(expr, both), ['o6', 'o2', 'o3', 'o5', 'o1', 'o4']);
      assert.deepEqual(await eq(expr, both, { ScanIndexForward: false }), [
        'o4',
        'o1',
        'o5',
        'o3',
        'o2',
        'o6',
      ]);
      // Pages of one item each resume after the LastEvaluatedKey, both ways.
      assert.deepEqual(await eq(expr, both, { Limit: 1 }), ['o6', 'o2', 'o3', 'o5', 'o1', 'o4']);
      assert.deepEqual(await eq(expr, both, { Limit: 2, ScanIndexForward: false }), [
        'o4',
        'o1',
        'o5',
        'o3',
        'o2',
        'o6',
      ]);
      assert.deepEqual(await eq(expr, { ':h1': S('a'), ':h2': S('c') }), ['other']);
    });

    test('KEYS_ONLY on a multi-attribute GSI holds the table key and every index key attribute', async () => {
      const page = await h.client.send(
        new QueryCommand({
          TableName: 'orders',
          IndexName: 'by-h',
          KeyConditionExpression: 'h1 = :h1 AND h2 = :h2 AND r1 = :r1 AND r2 = :r2',
          ExpressionAttributeValues: { ...both, ':r1': N('10'), ':r2': S('b') },
        }),
      );
      const { extra: _, ...projected } = order('o1', '10', 'b');
      assert.deepEqual(page.Items, [projected]);
    });

    test('sort attributes are constrained left to right: equality on a prefix, then one condition', async () => {
      const e = (expr: string, values: Record<string, AttributeValue>, more = {}) =>
        eq(`h1 = :h1 AND h2 = :h2 AND ${expr}`, { ...both, ...values }, more);
      assert.deepEqual(await e('r1 = :r1', { ':r1': N('10') }), ['o3', 'o5', 'o1']);
      assert.deepEqual(await e('r1 = :r1', { ':r1': N('10') }, { ScanIndexForward: false }), [
        'o1',
        'o5',
        'o3',
      ]);
      assert.deepEqual(await e('r1 > :r1', { ':r1': N('9') }), ['o3', 'o5', 'o1', 'o4']);
      assert.deepEqual(await e('r1 <= :r1', { ':r1': N('9') }), ['o6', 'o2']);
      assert.deepEqual(await e('r1 BETWEEN :a AND :b', { ':a': N('0'), ':b': N('10') }), [
        'o2',
        'o3',
        'o5',
        'o1',
      ]);
      const r1 = { ':r1': N('10') };
      assert.deepEqual(await e('r1 = :r1 AND r2 = :r2', { ...r1, ':r2': S('a') }), ['o3']);
      assert.deepEqual(await e('r2 > :r2 AND r1 = :r1', { ...r1, ':r2': S('a') }), ['o5', 'o1']);
      assert.deepEqual(await e('r1 = :r1 AND r2 < :r2', { ...r1, ':r2': S('b') }), ['o3', 'o5']);
      assert.deepEqual(await e('r1 = :r1 AND begins_with(r2, :r2)', { ...r1, ':r2': S('a') }), [
        'o3',
        'o5',
      ]);
      assert.deepEqual(await e('r1 = :r1 AND r2 >= :r2', { ...r1, ':r2': S('ab') }, { Limit: 1 }), [
        'o5',
        'o1',
      ]);
    });

    test('Query refuses a missing partition attribute, a range on one, a skipped or non-last range sort attribute, begins_with on a number', async () => {
      const refused = (expr: string, values: Record<string, AttributeValue>, message: string) =>
        rejectsWith(eq(expr, values), 'ValidationException', message);
      await refused('h1 = :h1', { ':h1': S('a') }, 'Query condition missed key schema element: h2');
      await refused('h1 = :h1 AND h2 > :h2', both, 'Query key condition not supported');
      await refused(
        'h1 = :h1 AND h2 = :h2 AND r2 = :r2',
        { ...both, ':r2': S('a') },
        'Query condition missed key schema element: r1',
      );
      await refused(
        'h1 = :h1 AND h2 = :h2 AND r1 > :r1 AND r2 = :r2',
        { ...both, ':r1': N('1'), ':r2': S('a') },
        'Query key condition not supported',
      );
      await refused(
        'h1 = :h1 AND h2 = :h2 AND r1 = :r1',
        { ...both, ':r1': S('10') },
        'One or more parameter values were invalid: Condition parameter type does not match schema type',
      );
      await refused(
        'h1 = :h1 AND h2 = :h2 AND begins_with(r1, :r1)',
        { ...both, ':r1': N('1') },
        'Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N',
      );
    });

    test('FilterExpression may not name an index key attribute, but may name the table key and others', async () => {
      const expr = 'h1 = :h1 AND h2 = :h2';
      for (const name of ['h2', 'r1']) {
        await rejectsWith(
          eq(expr, { ...both, ':v': S('x') }, { FilterExpression: `${name} = :v` }),
          'ValidationException',
          `Filter Expression can only contain non-primary key attributes: Primary key attribute: ${name}`,
        );
      }
      assert.deepEqual(await eq(expr, { ...both, ':v': S('o3') }, { FilterExpression: 'p = :v' }), [
        'o3',
      ]);
    });

    test('a PartiQL SELECT on a multi-attribute GSI reads it with the WHERE as a filter', async () => {
      const out = await h.client.send(
        new ExecuteStatementCommand({
          Statement: `SELECT p FROM "orders"."by-h" WHERE h1 = 'a' AND h2 = 'b' AND r1 = 10`,
        }),
      );
      assert.deepEqual(
        out.Items!.map((i) => i.p!.S),
        ['o3', 'o5', 'o1'],
      );
    });

    test('an item joins the index when its last key attribute is set and leaves when one is removed', async () => {
      const expr = 'h1 = :h1 AND h2 = :h2 AND r1 = :r1';
      const values = { ...both, ':r1': N('10') };
      const update = (UpdateExpression: string, v?: Item) =>
        h.client.send(
          new UpdateItemCommand({
            TableName: 'orders',
            Key: { p: S('no-r2') },
            UpdateExpression,
            ExpressionAttributeValues: v,
          }),
        );
      await update('SET r2 = :v', { ':v': S('aa') });
      assert.deepEqual(await eq(expr, values), ['o3', 'no-r2', 'o5', 'o1']);
      await update('REMOVE h1');
      assert.deepEqual(await eq(expr, values), ['o3', 'o5', 'o1']);
    });

    test('a write with a multi-attribute key value of the wrong type or empty is refused', async () => {
      await rejectsWith(
        h.client.send(
          new PutItemCommand({
            TableName: 'orders',
            Item: { ...order('bad', '1', 'a'), h2: N('1') },
          }),
        ),
        'ValidationException',
        'One or more parameter values were invalid: Type mismatch for Index Key h2 Expected: S Actual: N IndexName: by-h',
      );
      await rejectsWith(
        h.client.send(
          new PutItemCommand({
            TableName: 'orders',
            Item: { ...order('bad', '1', 'a'), r2: S('') },
          }),
        ),
        'ValidationException',
        /cannot contain an empty string value. IndexName: by-h, IndexKey: r2/,
      );
    });

    test('UpdateTable adds a multi-attribute GSI and backfills the items that have every key attribute', async () => {
      const ctx: ActionContext = {
        engine: h.engine,
        region: 'us-east-1',
        accountId: '000000000000',
        indexes: makeIndexBuilder({ engine: h.engine, wait: async () => {} }),
      };
      const call = (action: string, req: Request) =>
        actions[action]!(ctx, req) as Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
      await call('CreateTable', {
        TableName: 'later',
        AttributeDefinitions: defs(['p', 'S']),
        KeySchema: keys(['p', 'HASH']),
        BillingMode: 'PAY_PER_REQUEST',
      });
      for (const [p, c] of [
        ['i1', 'z'],
        ['i2', 'y'],
        ['i3', undefined],
      ] as const) {
        const Item: Item = { p: S(p), a: S('same'), b: S('shared') };
        if (c) Item.c = S(c);
        await call('PutItem', { TableName: 'later', Item });
      }
      const built = ctx.indexes!.start('later');
      await call('UpdateTable', {
        TableName: 'later',
        AttributeDefinitions: defs(['a', 'S'], ['b', 'S'], ['c', 'S']),
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: 'gsi',
              KeySchema: keys(['a', 'HASH'], ['b', 'HASH'], ['c', 'RANGE']),
              Projection: { ProjectionType: 'ALL' },
            },
          },
        ],
      });
      await built;
      await ctx.indexes!.start('later');
      const out = await call('Query', {
        TableName: 'later',
        IndexName: 'gsi',
        KeyConditionExpression: 'a = :a AND b = :b',
        ExpressionAttributeValues: { ':a': S('same'), ':b': S('shared') },
      });
      assert.deepEqual(
        out.Items.map((i: Item) => i.p!.S),
        ['i2', 'i1'],
      );
      const d = await call('DescribeTable', { TableName: 'later' });
      assert.equal(d.Table.GlobalSecondaryIndexes[0].IndexStatus, 'ACTIVE');
      assert.deepEqual(
        d.Table.GlobalSecondaryIndexes[0].KeySchema,
        keys(['a', 'HASH'], ['b', 'HASH'], ['c', 'RANGE']),
      );
    });
  });
}
