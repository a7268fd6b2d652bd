// ExecuteTransaction through the AWS SDK against a real server, once per storage
// engine: all statements or none, CancellationReasons in order, idempotent tokens.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  ExecuteTransactionCommand,
  GetItemCommand,
  type ParameterizedStatement,
} from '@aws-sdk/client-dynamodb';
import { engineKinds, rejectsWith, startHarness, type Harness } from '../../test/support/tables.ts';

for (const kind of engineKinds) {
  describe(`ExecuteTransaction on ${kind}`, () => {
    let h: Harness;
    const tx = (TransactStatements: ParameterizedStatement[], ClientRequestToken?: string) =>
      h.client.send(new ExecuteTransactionCommand({ TransactStatements, ClientRequestToken }));
    const balance = async (id: string) =>
      (
        await h.client.send(
          new GetItemCommand({
            TableName: 'accounts',
            Key: { id: { S: id } },
            ConsistentRead: true,
          }),
        )
      ).Item?.balance?.N;

    before(async () => {
      h = await startHarness(kind);
      await h.client.send(
        new CreateTableCommand({
          TableName: 'accounts',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await tx([
        { Statement: `INSERT INTO accounts VALUE {'id': 'a', 'balance': 100}` },
        { Statement: `INSERT INTO accounts VALUE {'id': 'b', 'balance': 0}` },
      ]);
    });
    after(() => h.close());

    test('writes apply together, with EXISTS as a condition on another item', async () => {
      await tx([
        {
          Statement: `UPDATE accounts SET balance = balance - 30 WHERE id = 'a' AND balance >= 30`,
        },
        {
          Statement: `UPDATE accounts SET balance = balance + ? WHERE id = 'b'`,
          Parameters: [{ N: '30' }],
        },
        { Statement: `INSERT INTO accounts VALUE {'id': 'log1', 'balance': 0}` },
      ]);
      assert.deepEqual([await balance('a'), await balance('b')], ['70', '30']);
    });

    test('one failed statement cancels all, with the reasons in request order', async () => {
      await assert.rejects(
        tx([
          { Statement: `UPDATE accounts SET balance = balance + 1000 WHERE id = 'b'` },
          {
            Statement: `UPDATE accounts SET balance = balance - 1000 WHERE id = 'a' AND balance >= 1000`,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
          { Statement: `EXISTS(SELECT * FROM accounts WHERE id = 'nobody')` },
        ]),
        (err: { name: string; CancellationReasons?: { Code?: string; Item?: unknown }[] }) => {
          assert.equal(err.name, 'TransactionCanceledException');
          assert.deepEqual(
            err.CancellationReasons?.map((r) => r.Code),
            ['None', 'ConditionalCheckFailed', 'ConditionalCheckFailed'],
          );
          assert.deepEqual(err.CancellationReasons?.[1]?.Item, {
            id: { S: 'a' },
            balance: { N: '70' },
          });
          return true;
        },
      );
      assert.deepEqual([await balance('a'), await balance('b')], ['70', '30']);
    });

    test('reads answer one item per statement from one snapshot, {} for a missing one', async () => {
      const out = await tx([
        { Statement: `SELECT balance FROM accounts WHERE id = 'a'` },
        { Statement: `SELECT * FROM accounts WHERE id = 'nobody'` },
      ]);
      assert.deepEqual(out.Responses, [{ Item: { balance: { N: '70' } } }, {}]);
    });

    test('a ClientRequestToken runs the transaction once', async () => {
      const once: ParameterizedStatement[] = [
        { Statement: `UPDATE accounts SET balance = balance + 1 WHERE id = 'b'` },
      ];
      await tx(once, 'token-1');
      await tx(once, 'token-1');
      assert.equal(await balance('b'), '31');
      await rejectsWith(
        tx([{ Statement: `UPDATE accounts SET balance = balance + 2 WHERE id = 'b'` }], 'token-1'),
        'IdempotentParameterMismatchException',
      );
    });

    test("what a transaction may not hold is refused in DynamoDB's words", async () => {
      await rejectsWith(
        tx([
          { Statement: `SELECT * FROM accounts WHERE id = 'a'` },
          { Statement: `DELETE FROM accounts WHERE id = 'b'` },
        ]),
        'ValidationException',
        'ExecuteTransaction API does not support both read and write operations in the same request.',
      );
      await rejectsWith(
        tx([{ Statement: `SELECT * FROM accounts` }]),
        'ValidationException',
        'Validation failed in TransactStatements[0]: Select statements within ExecuteTransaction must specify the primary key in the where clause.',
      );
      await rejectsWith(
        tx([{ Statement: `SELECT * FROM accounts WHERE` }]),
        'ValidationException',
        "Validation failed in TransactStatements[0]: Statement wasn't well formed, can't be processed: Unexpected term",
      );
      await rejectsWith(
        tx([
          { Statement: `UPDATE accounts SET x = 1 WHERE id = 'a'` },
          { Statement: `DELETE FROM accounts WHERE id = 'a'` },
        ]),
        'ValidationException',
        'Transaction request cannot include multiple operations on one item',
      );
      await rejectsWith(
        tx(
          Array.from({ length: 101 }, (_, i) => ({
            Statement: `DELETE FROM accounts WHERE id = 'x${i}'`,
          })),
        ),
        'ValidationException',
        /Member must have length less than or equal to 100$/,
      );
      assert.equal(await balance('a'), '70');
    });
  });
}
