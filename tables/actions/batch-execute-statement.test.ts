// BatchExecuteStatement through the AWS SDK against a real server, once per
// storage engine: one result or Error per statement, in request order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BatchExecuteStatementCommand,
  CreateTableCommand,
  type BatchStatementRequest,
} from '@aws-sdk/client-dynamodb';
import { engineKinds, rejectsWith, startHarness, type Harness } from '../../test/support/tables.ts';

for (const kind of engineKinds) {
  describe(`BatchExecuteStatement on ${kind}`, () => {
    let h: Harness;
    const batch = (Statements: BatchStatementRequest[], ReturnConsumedCapacity?: 'TOTAL') =>
      h.client.send(new BatchExecuteStatementCommand({ Statements, ReturnConsumedCapacity }));

    before(async () => {
      h = await startHarness(kind);
      await h.client.send(
        new CreateTableCommand({
          TableName: 'items',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    });
    after(() => h.close());

    test('writes succeed or fail one by one, each failure an Error with its code', async () => {
      const out = await batch(
        [
          { Statement: `INSERT INTO items VALUE {'id': 'a', 'v': 1}` },
          { Statement: `INSERT INTO items VALUE {'id': ?, 'v': 2}`, Parameters: [{ S: 'b' }] },
          { Statement: `INSERT INTO items VALUE {'id': 'a'}` },
          { Statement: `SLECT * FROM items` },
          {
            Statement: `UPDATE items SET v = 5 WHERE id = 'b' AND v = 9`,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
          { Statement: `DELETE FROM nowhere WHERE id = 'a'` },
        ],
        'TOTAL',
      );
      assert.deepEqual(out.Responses, [
        { TableName: 'items' },
        { TableName: 'items' },
        {
          TableName: 'items',
          Error: { Code: 'DuplicateItem', Message: 'Duplicate primary key exists in table' },
        },
        {
          Error: {
            Code: 'ValidationError',
            Message: "Statement wasn't well formed, can't be processed: Expected data manipulation",
          },
        },
        {
          TableName: 'items',
          Error: {
            Code: 'ConditionalCheckFailed',
            Message: 'The conditional request failed',
            Item: { id: { S: 'b' }, v: { N: '2' } },
          },
        },
        { Error: { Code: 'ResourceNotFound', Message: 'Requested resource not found' } },
      ]);
      assert.equal(out.ConsumedCapacity?.length, 1);
      assert.equal(out.ConsumedCapacity?.[0]?.TableName, 'items');
    });

    test('reads are single items by their full key; a missing item answers without Item', async () => {
      const out = await batch([
        { Statement: `SELECT v FROM items WHERE id = 'a'` },
        { Statement: `SELECT * FROM items WHERE id = 'zz'`, ConsistentRead: true },
        { Statement: `SELECT * FROM items` },
      ]);
      assert.deepEqual(out.Responses, [
        { TableName: 'items', Item: { v: { N: '1' } } },
        { TableName: 'items' },
        { Error: { Code: 'ValidationError', Message: 'Only single item select is supported' } },
      ]);
    });

    test('reads and writes together, no statement and 26 statements are refused whole', async () => {
      await rejectsWith(
        batch([
          { Statement: `SELECT * FROM items WHERE id = 'a'` },
          { Statement: `DELETE FROM items WHERE id = 'a'` },
        ]),
        'ValidationException',
        'Read and write requests together in the same batch is not supported.',
      );
      await rejectsWith(
        batch([]),
        'ValidationException',
        /at 'statements' failed to satisfy constraint: Member must have length greater than or equal to 1$/,
      );
      await rejectsWith(
        batch(
          Array.from({ length: 26 }, () => ({ Statement: `SELECT * FROM items WHERE id = 'a'` })),
        ),
        'ValidationException',
        /Member must have length less than or equal to 25$/,
      );
      const still = await batch([{ Statement: `SELECT * FROM items WHERE id = 'a'` }]);
      assert.ok(still.Responses?.[0]?.Item, 'the refused batch deleted nothing');
    });
  });
}
