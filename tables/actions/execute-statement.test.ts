// ExecuteStatement through the AWS SDK (client-dynamodb and lib-dynamodb) against a
// real server, once per storage engine.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  ExecuteStatementCommand,
  GetItemCommand,
  type AttributeValue,
  type ExecuteStatementCommandInput,
} from '@aws-sdk/client-dynamodb';
import { ExecuteStatementCommand as DocExecuteStatement } from '@aws-sdk/lib-dynamodb';
import { engineKinds, rejectsWith, startHarness, type Harness } from '../../test/support/tables.ts';

const S = (s: string): AttributeValue => ({ S: s });
const N = (n: string): AttributeValue => ({ N: n });

for (const kind of engineKinds) {
  describe(`ExecuteStatement on ${kind}`, () => {
    let h: Harness;
    const run = (Statement: string, extra: Partial<ExecuteStatementCommandInput> = {}) =>
      h.client.send(new ExecuteStatementCommand({ Statement, ...extra }));
    const keys = (items: Record<string, AttributeValue>[] | undefined) =>
      (items ?? []).map((i) => `${i.pk?.S}/${i.sk?.N}`);

    before(async () => {
      h = await startHarness(kind);
      await h.client.send(
        new CreateTableCommand({
          TableName: 'events',
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'N' },
            { AttributeName: 'owner', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: [
            {
              IndexName: 'byOwner',
              KeySchema: [{ AttributeName: 'owner', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      for (let i = 1; i <= 5; i++) {
        await run(
          `INSERT INTO "events" VALUE {'pk': 'p', 'sk': ?, 'owner': ?, 'tags': <<'t', ?>>}`,
          {
            Parameters: [N(String(i)), S(i % 2 ? 'ann' : 'bob'), S(`t${i}`)],
          },
        );
      }
      await run(
        `INSERT INTO events VALUE {'pk': 'q', 'sk': 1, 'doc': {'nums': [10, 20, 30], 'name': 'Q'}}`,
      );
    });
    after(() => h.close());

    test('lib-dynamodb inserts and selects with native parameters; a second insert of the key is a DuplicateItemException', async () => {
      await h.doc.send(
        new DocExecuteStatement({
          Statement: `INSERT INTO events VALUE {'pk': ?, 'sk': ?, 'n': ?}`,
          Parameters: ['doc', 1, 7],
        }),
      );
      const out = await h.doc.send(
        new DocExecuteStatement({
          Statement: `SELECT * FROM events WHERE pk = ? AND sk = ?`,
          Parameters: ['doc', 1],
        }),
      );
      assert.deepEqual(out.Items, [{ pk: 'doc', sk: 1, n: 7 }]);
      await rejectsWith(
        run(`INSERT INTO events VALUE {'pk': 'doc', 'sk': 1}`),
        'DuplicateItemException',
        'Duplicate primary key exists in table',
      );
    });

    test('a hash key equality reads one partition in key order, ORDER BY DESC reverses it', async () => {
      const asc = await run(`SELECT * FROM events WHERE pk = 'p' AND sk BETWEEN 2 AND 4`);
      assert.deepEqual(keys(asc.Items), ['p/2', 'p/3', 'p/4']);
      const desc = await run(`SELECT * FROM events WHERE pk = 'p' ORDER BY sk DESC`);
      assert.deepEqual(keys(desc.Items), ['p/5', 'p/4', 'p/3', 'p/2', 'p/1']);
    });

    test('a SELECT without a key condition scans the table with the WHERE as filter', async () => {
      const out = await run(`SELECT * FROM events WHERE sk >= 4 OR owner = 'nobody'`);
      assert.deepEqual(keys(out.Items).sort(), ['p/4', 'p/5']);
    });

    test('an index is read as "table"."index"', async () => {
      const out = await run(`SELECT sk FROM "events"."byOwner" WHERE owner = 'bob'`);
      assert.deepEqual(out.Items?.map((i) => i.sk?.N).sort(), ['2', '4']);
    });

    test('the functions and predicates of WHERE evaluate as in the rest of the API', async () => {
      const cases: [string, string[]][] = [
        [`begins_with(owner, 'a')`, ['p/1', 'p/3', 'p/5']],
        [`contains(tags, 't2')`, ['p/2']],
        [`attribute_type(doc, 'M')`, ['q/1']],
        [`doc IS MISSING AND sk IN [1, 2]`, ['p/1', 'p/2']],
        [`doc IS NOT MISSING`, ['q/1']],
        [`size(doc.nums) = 3 AND doc.nums[1] = 20`, ['q/1']],
        [`attribute_exists(doc.name) AND NOT sk <> 1`, ['q/1']],
        [`sk > 4 AND owner <> 'bob'`, ['p/5']],
      ];
      for (const [where, expected] of cases) {
        const out = await run(`SELECT * FROM events WHERE pk IN ['p', 'q'] AND (${where})`);
        assert.deepEqual(keys(out.Items).sort(), expected, where);
      }
    });

    test('listed nested paths come back under their last name', async () => {
      const out = await run(`SELECT sk, doc.nums[2], doc.name FROM events WHERE pk = 'q'`);
      assert.deepEqual(out.Items, [{ sk: N('1'), 'nums[2]': N('30'), name: S('Q') }]);
    });

    test('Limit pages through NextToken until every item was read once; a token of another statement is refused', async () => {
      const seen: string[] = [];
      let NextToken: string | undefined;
      let pages = 0;
      do {
        const out = await run(`SELECT * FROM events WHERE pk = 'p'`, { Limit: 2, NextToken });
        seen.push(...keys(out.Items));
        NextToken = out.NextToken;
        pages++;
      } while (NextToken);
      assert.deepEqual(seen, ['p/1', 'p/2', 'p/3', 'p/4', 'p/5']);
      assert.equal(pages, 3);
      const first = await run(`SELECT * FROM events WHERE pk = 'p'`, { Limit: 1 });
      assert.deepEqual(first.LastEvaluatedKey, { pk: S('p'), sk: N('1') });
      await rejectsWith(
        run(`SELECT * FROM events WHERE pk = 'q'`, { NextToken: first.NextToken }),
        'ValidationException',
        'NextToken does not match request',
      );
    });

    test('UPDATE sets nested paths and removes attributes, returning what RETURNING asks for', async () => {
      const out = await run(
        `UPDATE events SET doc.nums[0] = 11, hits = 1 SET doc.more = list_append(doc.nums, [40]) REMOVE doc.name WHERE pk = 'q' AND sk = 1 RETURNING ALL NEW *`,
      );
      assert.deepEqual(out.Items?.[0]?.doc, {
        M: {
          nums: { L: [N('11'), N('20'), N('30')] },
          // Every operand reads the item as it was before the update.
          more: { L: [N('10'), N('20'), N('30'), N('40')] },
        },
      });
      const old = await run(
        `UPDATE events SET hits = hits + ? WHERE pk = 'q' AND sk = 1 RETURNING MODIFIED OLD *`,
        { Parameters: [N('2')] },
      );
      assert.deepEqual(old.Items, [{ hits: N('1') }]);
      const plain = await run(`UPDATE events SET hits = 9 WHERE pk = 'q' AND sk = 1`);
      assert.deepEqual(plain.Items, []);
    });

    test('UPDATE of a missing item and a failed condition are ConditionalCheckFailedException, with the item when asked', async () => {
      await rejectsWith(
        run(`UPDATE events SET a = 1 WHERE pk = 'none' AND sk = 1`),
        'ConditionalCheckFailedException',
      );
      await assert.rejects(
        run(`UPDATE events SET a = 1 WHERE pk = 'p' AND sk = 1 AND owner = 'bob'`, {
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        (err: { name: string; Item?: Record<string, AttributeValue> }) => {
          assert.equal(err.name, 'ConditionalCheckFailedException');
          assert.equal(err.Item?.owner?.S, 'ann');
          return true;
        },
      );
    });

    test('DELETE removes one item by its full key and returns it with RETURNING ALL OLD *', async () => {
      await run(`INSERT INTO events VALUE {'pk': 'gone', 'sk': 1, 'x': 'y'}`);
      const out = await run(`DELETE FROM events WHERE pk = 'gone' AND sk = 1 RETURNING ALL OLD *`);
      assert.deepEqual(out.Items, [{ pk: S('gone'), sk: N('1'), x: S('y') }]);
      const left = await h.client.send(
        new GetItemCommand({ TableName: 'events', Key: { pk: S('gone'), sk: N('1') } }),
      );
      assert.equal(left.Item, undefined);
    });

    test('a write without the full key is refused before anything is written', async () => {
      const message = 'Where clause does not contain a mandatory equality on all key attributes';
      await rejectsWith(run(`DELETE FROM events WHERE pk = 'p'`), 'ValidationException', message);
      await rejectsWith(
        run(`UPDATE events SET a = 1 WHERE owner = 'ann'`),
        'ValidationException',
        message,
      );
      const still = await run(`SELECT * FROM events WHERE pk = 'p'`);
      assert.equal(still.Items?.length, 5);
    });

    test('capacity is reported when asked, and statements DynamoDB refuses keep its words', async () => {
      const out = await run(`SELECT * FROM events WHERE pk = 'p' AND sk = 1`, {
        ReturnConsumedCapacity: 'TOTAL',
        ConsistentRead: true,
      });
      assert.deepEqual(out.ConsumedCapacity, { TableName: 'events', CapacityUnits: 1 });
      await rejectsWith(
        run(`SELECT * FROM events WHERE pk = 'p' AND`),
        'ValidationException',
        "Statement wasn't well formed, can't be processed: Missing right-hand side expression of infix operator",
      );
      await rejectsWith(
        run(`SELECT * FROM nowhere`),
        'ResourceNotFoundException',
        'Requested resource not found',
      );
      await rejectsWith(
        run(`EXISTS(SELECT * FROM events WHERE pk = 'p' AND sk = 1)`),
        'ValidationException',
        'EXISTS can only be used in ExecuteTransaction write requests.',
      );
      await rejectsWith(
        run(''),
        'ValidationException',
        "1 validation error detected: Value '' at 'statement' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    });
  });
}
