// TransactWriteItems and TransactGetItems through @aws-sdk/client-dynamodb against a
// real server, once per engine. The messages are DynamoDB's, as the independent
// conformance captures of real DynamoDB record them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  TransactionCanceledException,
  type AttributeValue,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { engineKinds, rejectsWith, startHarness, type Harness } from '../../test/support/tables.ts';

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });

async function cancelled(p: Promise<unknown>): Promise<TransactionCanceledException> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TransactionCanceledException, String(err));
    assert.equal(err.$metadata.httpStatusCode, 400);
    return err;
  }
  assert.fail('expected TransactionCanceledException');
}

for (const kind of engineKinds) {
  describe(`transactions on ${kind}`, () => {
    let h: Harness;
    const send = (items: TransactWriteItem[], extra: Record<string, unknown> = {}) =>
      h.client.send(new TransactWriteItemsCommand({ TransactItems: items, ...extra }));
    const get = async (table: string, key: Record<string, AttributeValue>) =>
      (
        await h.client.send(
          new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }),
        )
      ).Item;
    const put = (id: string, extra: Record<string, AttributeValue> = {}) =>
      h.client.send(new PutItemCommand({ TableName: 'txn', Item: { pk: S(id), ...extra } }));

    before(async () => {
      h = await startHarness(kind);
      await h.client.send(
        new CreateTableCommand({
          TableName: 'txn',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await h.client.send(
        new CreateTableCommand({
          TableName: 'txn_gsi',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'S' },
            { AttributeName: 'owner', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: [
            {
              IndexName: 'by_owner',
              KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    });
    after(async () => {
      await h?.close();
    });

    test('Put, Update, Delete and ConditionCheck apply together', async () => {
      await put('b-upd', { n: N('1') });
      await put('b-del');
      await put('b-cc', { status: S('open') });
      await send([
        { Put: { TableName: 'txn', Item: { pk: S('b-put'), n: N('7') } } },
        {
          Update: {
            TableName: 'txn',
            Key: { pk: S('b-upd') },
            UpdateExpression: 'SET n = n + :one',
            ExpressionAttributeValues: { ':one': N('1') },
          },
        },
        { Delete: { TableName: 'txn', Key: { pk: S('b-del') } } },
        {
          ConditionCheck: {
            TableName: 'txn',
            Key: { pk: S('b-cc') },
            ConditionExpression: '#s = :open',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':open': S('open') },
          },
        },
      ]);
      assert.deepEqual(await get('txn', { pk: S('b-put') }), { pk: S('b-put'), n: N('7') });
      assert.deepEqual(await get('txn', { pk: S('b-upd') }), { pk: S('b-upd'), n: N('2') });
      assert.equal(await get('txn', { pk: S('b-del') }), undefined);
      assert.deepEqual(await get('txn', { pk: S('b-cc') }), { pk: S('b-cc'), status: S('open') });
    });

    test('a failed condition cancels everything, reasons in request order', async () => {
      await put('c-taken', { v: S('old') });
      const err = await cancelled(
        send([
          {
            Put: {
              TableName: 'txn',
              Item: { pk: S('c-new') },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Put: {
              TableName: 'txn',
              Item: { pk: S('c-taken'), v: S('new') },
              ConditionExpression: 'attribute_not_exists(pk)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Update: {
              TableName: 'txn',
              Key: { pk: S('c-absent') },
              UpdateExpression: 'SET v = :v',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':v': S('x') },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ]),
      );
      assert.equal(
        err.message,
        'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, ConditionalCheckFailed]',
      );
      assert.deepEqual(err.CancellationReasons, [
        { Code: 'None' },
        {
          Code: 'ConditionalCheckFailed',
          Message: 'The conditional request failed',
          Item: { pk: S('c-taken'), v: S('old') },
        },
        // ALL_OLD of an absent item: nothing to return.
        { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
      ]);
      assert.equal(await get('txn', { pk: S('c-new') }), undefined);
      assert.deepEqual(await get('txn', { pk: S('c-taken') }), { pk: S('c-taken'), v: S('old') });
      assert.equal(await get('txn', { pk: S('c-absent') }), undefined);
    });

    test('an update that fails on the item is a ValidationError reason', async () => {
      await put('v-str', { n: S('text') });
      const err = await cancelled(
        send([
          {
            Update: {
              TableName: 'txn',
              Key: { pk: S('v-str') },
              UpdateExpression: 'ADD n :one',
              ExpressionAttributeValues: { ':one': N('1') },
            },
          },
        ]),
      );
      assert.equal(err.CancellationReasons?.[0]?.Code, 'ValidationError');
      assert.match(err.CancellationReasons?.[0]?.Message ?? '', /incorrect data type/);
    });

    test('the request is validated before anything runs, in DynamoDB words', async () => {
      await rejectsWith(
        send([]),
        'ValidationException',
        "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
      const many = Array.from({ length: 101 }, (_, i) => ({
        Put: { TableName: 'txn', Item: { pk: S(`m-${i}`) } },
      }));
      await rejectsWith(
        send(many),
        'ValidationException',
        /^1 validation error detected: Value '\[.+\]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100$/s,
      );
      await rejectsWith(
        send([
          { Put: { TableName: 'txn', Item: { pk: S('dup') } } },
          { Delete: { TableName: 'txn', Key: { pk: S('dup') } } },
        ]),
        'ValidationException',
        'Transaction request cannot include multiple operations on one item',
      );
      await rejectsWith(
        send([{ Put: { TableName: 'txn_nowhere', Item: { pk: S('x') } } }]),
        'ResourceNotFoundException',
        'Requested resource not found',
      );
      await rejectsWith(
        send([
          {
            Put: { TableName: 'txn', Item: { pk: S('x') } },
            Delete: { TableName: 'txn', Key: { pk: S('x') } },
          },
        ]),
        'ValidationException',
        'TransactItems can only contain one of Check, Put, Update or Delete',
      );
      await rejectsWith(
        send([{ Put: { TableName: 'txn', Item: { pk: S('') } } }]),
        'ValidationException',
        'One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk',
      );
      await rejectsWith(
        send([
          {
            Update: {
              TableName: 'txn',
              Key: { pk: S('k') },
              UpdateExpression: 'SET pk = :v',
              ExpressionAttributeValues: { ':v': S('other') },
            },
          },
        ]),
        'ValidationException',
        'Cannot update attribute pk. This attribute is part of the key',
      );
      await rejectsWith(
        send([
          {
            ConditionCheck: {
              TableName: 'txn',
              Key: { pk: S('k') },
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':unused': S('x') },
            },
          },
        ]),
        'ValidationException',
        'Value provided in ExpressionAttributeValues unused in expressions: keys: {:unused}',
      );
    });

    test('key values of the wrong type are ValidationError reasons', async () => {
      const put = await cancelled(send([{ Put: { TableName: 'txn', Item: { pk: N('5') } } }]));
      assert.equal(
        put.message,
        'Transaction cancelled, please refer cancellation reasons for specific reasons [ValidationError]',
      );
      assert.deepEqual(put.CancellationReasons, [
        {
          Code: 'ValidationError',
          Message:
            'One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N',
        },
      ]);
      const del = await cancelled(send([{ Delete: { TableName: 'txn', Key: { pk: N('5') } } }]));
      assert.deepEqual(del.CancellationReasons, [
        { Code: 'ValidationError', Message: 'The provided key element does not match the schema' },
      ]);
    });

    test('100 actions and up to 4 MB pass; over 4 MB is refused', async () => {
      await send(
        Array.from({ length: 100 }, (_, i) => ({
          Put: { TableName: 'txn', Item: { pk: S(`h-${i}`), i: N(String(i)) } },
        })),
      );
      assert.deepEqual(await get('txn', { pk: S('h-99') }), { pk: S('h-99'), i: N('99') });
      const big = (n: number, prefix: string) =>
        Array.from({ length: n }, (_, i) => ({
          Put: { TableName: 'txn', Item: { pk: S(`${prefix}-${i}`), p: S('x'.repeat(350_000)) } },
        }));
      await send(big(10, 'ok4mb'));
      await rejectsWith(send(big(12, 'no4mb')), 'ValidationException');
      assert.equal(await get('txn', { pk: S('no4mb-0') }), undefined);
    });

    test('ClientRequestToken: a retry is answered without running again; other parameters are a mismatch', async () => {
      await put('idem', { n: N('0') });
      const bump = (token: string, by = '1') =>
        send(
          [
            {
              Update: {
                TableName: 'txn',
                Key: { pk: S('idem') },
                UpdateExpression: 'SET n = n + :by',
                ExpressionAttributeValues: { ':by': N(by) },
              },
            },
          ],
          { ClientRequestToken: token },
        );
      await bump('token-one');
      await bump('token-one');
      assert.deepEqual(await get('txn', { pk: S('idem') }), { pk: S('idem'), n: N('1') });
      await rejectsWith(
        bump('token-one', '2'),
        'IdempotentParameterMismatchException',
        'The request uses the same client token as a previous, but non-identical request.',
      );
      await bump('token-two');
      assert.deepEqual(await get('txn', { pk: S('idem') }), { pk: S('idem'), n: N('2') });
    });

    test('a cancelled transaction does not use up its token', async () => {
      const attempt = () =>
        send(
          [
            {
              Put: {
                TableName: 'txn',
                Item: { pk: S('tok-after') },
                ConditionExpression: 'attribute_exists(ready)',
              },
            },
          ],
          { ClientRequestToken: 'token-retry' },
        );
      await cancelled(attempt());
      await cancelled(attempt());
    });

    test('consumed capacity is double the single-item arithmetic', async () => {
      await put('cap-r', { big: S('x'.repeat(5000)) });
      const w = await send(
        [
          { Put: { TableName: 'txn', Item: { pk: S('cap-1') } } },
          { Put: { TableName: 'txn', Item: { pk: S('cap-2'), big: S('y'.repeat(1500)) } } },
          {
            ConditionCheck: {
              TableName: 'txn',
              Key: { pk: S('cap-r') },
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
        ],
        { ReturnConsumedCapacity: 'INDEXES' },
      );
      // Writes 2 x (1 + 2) KB units; the 5 KB check 2 x 2 read units.
      assert.deepEqual(w.ConsumedCapacity, [
        {
          TableName: 'txn',
          CapacityUnits: 10,
          ReadCapacityUnits: 4,
          WriteCapacityUnits: 6,
          Table: { CapacityUnits: 10, ReadCapacityUnits: 4, WriteCapacityUnits: 6 },
        },
      ]);
      const r = await h.client.send(
        new TransactGetItemsCommand({
          ReturnConsumedCapacity: 'TOTAL',
          TransactItems: [
            { Get: { TableName: 'txn', Key: { pk: S('cap-1') } } },
            { Get: { TableName: 'txn', Key: { pk: S('cap-missing') } } },
          ],
        }),
      );
      assert.deepEqual(r.ConsumedCapacity, [
        { TableName: 'txn', CapacityUnits: 4, ReadCapacityUnits: 4 },
      ]);
    });

    test('global secondary indexes follow transactional writes', async () => {
      await send([
        { Put: { TableName: 'txn_gsi', Item: { pk: S('g1'), sk: S('a'), owner: S('ann') } } },
        { Put: { TableName: 'txn_gsi', Item: { pk: S('g2'), sk: S('a'), owner: S('ann') } } },
      ]);
      await send([
        {
          Update: {
            TableName: 'txn_gsi',
            Key: { pk: S('g1'), sk: S('a') },
            UpdateExpression: 'SET #o = :bob',
            ExpressionAttributeNames: { '#o': 'owner' },
            ExpressionAttributeValues: { ':bob': S('bob') },
          },
        },
        { Delete: { TableName: 'txn_gsi', Key: { pk: S('g2'), sk: S('a') } } },
      ]);
      const owned = async (owner: string) =>
        (
          await h.client.send(
            new QueryCommand({
              TableName: 'txn_gsi',
              IndexName: 'by_owner',
              KeyConditionExpression: '#o = :o',
              ExpressionAttributeNames: { '#o': 'owner' },
              ExpressionAttributeValues: { ':o': S(owner) },
            }),
          )
        ).Items?.map((i) => i.pk!.S);
      assert.deepEqual(await owned('ann'), []);
      assert.deepEqual(await owned('bob'), ['g1']);
    });

    test('TransactGetItems answers in request order, {} for a missing item, with projections', async () => {
      await put('g-a', { n: N('1'), secret: S('s') });
      await put('g-b', { n: N('2') });
      const r = await h.client.send(
        new TransactGetItemsCommand({
          TransactItems: [
            {
              Get: {
                TableName: 'txn',
                Key: { pk: S('g-a') },
                ProjectionExpression: 'pk, n',
              },
            },
            { Get: { TableName: 'txn', Key: { pk: S('g-missing') } } },
            { Get: { TableName: 'txn', Key: { pk: S('g-b') } } },
          ],
        }),
      );
      assert.deepEqual(r.Responses, [
        { Item: { pk: S('g-a'), n: N('1') } },
        {},
        { Item: { pk: S('g-b'), n: N('2') } },
      ]);
    });

    test('TransactGetItems validation', async () => {
      const tg = (items: unknown[]) =>
        h.client.send(new TransactGetItemsCommand({ TransactItems: items as never }));
      await rejectsWith(
        tg([]),
        'ValidationException',
        "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
      await rejectsWith(
        tg([
          { Get: { TableName: 'txn', Key: { pk: S('d') } } },
          { Get: { TableName: 'txn', Key: { pk: S('d') } } },
        ]),
        'ValidationException',
        'Transaction request cannot include multiple operations on one item',
      );
      await rejectsWith(
        tg([{ Get: { TableName: 'txn', Key: { pk: S('d') }, ProjectionExpression: '!!!' } }]),
        'ValidationException',
        /^Invalid ProjectionExpression: Syntax error; token: "!"/,
      );
      await rejectsWith(
        tg([{ Get: { TableName: 'txn_nowhere', Key: { pk: S('d') } } }]),
        'ResourceNotFoundException',
        'Requested resource not found',
      );
      const err = await cancelled(tg([{ Get: { TableName: 'txn', Key: {} } }]));
      assert.equal(
        err.message,
        'Transaction cancelled, please refer cancellation reasons for specific reasons [ValidationError]',
      );
    });
  });
}
