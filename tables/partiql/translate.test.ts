// Translation of statements into the requests of the ordinary actions: which
// WHERE is a Query and which a Scan, the full key of writes, the implicit
// conditions of INSERT and UPDATE, and the names of SELECT's answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamoError } from '../errors.ts';
import { parseCondition } from '../expressions/parser.ts';
import type { TableMeta } from '../storage/engine.ts';
import { parseStatement } from './parser.ts';
import { translate, unnest, type Use } from './translate.ts';

const meta: TableMeta = {
  name: 'events',
  id: 'e1',
  schema: { hash: { name: 'pk', type: 'S' }, range: { name: 'sk', type: 'N' } },
  description: {},
  tags: {},
  indexes: [
    {
      name: 'byOwner',
      id: 'i1',
      schema: { hash: { name: 'owner', type: 'S' } },
      projection: 'ALL',
    },
  ],
};

const plan = (src: string, use: Use = 'statement', params: unknown[] = []) =>
  translate(parseStatement(src, params as never), meta, use);

/** The request's expression with its placeholders put back, to compare by eye. */
function text(req: Record<string, unknown>, field: string): string {
  const names = (req.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (req.ExpressionAttributeValues ?? {}) as Record<string, Record<string, string>>;
  return (req[field] as string)
    .replace(/#n\d+/g, (n) => names[n]!)
    .replace(/:v\d+/g, (v) => JSON.stringify(values[v]));
}

const refuses = (src: string, message: string, use: Use = 'statement') =>
  assert.throws(
    () => plan(src, use),
    (err: unknown) => err instanceof DynamoError && err.message === message,
  );

test('an equality on the hash key is a Query, with one range condition and the rest as filter', () => {
  const p = plan(`SELECT * FROM events WHERE pk = 'a' AND sk >= 3 AND color = 'red'`);
  assert.equal(p.action, 'Query');
  assert.equal(text(p.request, 'KeyConditionExpression'), 'pk = {"S":"a"} AND sk >= {"N":"3"}');
  assert.equal(text(p.request, 'FilterExpression'), 'color = {"S":"red"}');
});

test('a WHERE without a hash key equality, or with a key under OR, is a Scan with the whole WHERE', () => {
  const p = plan(`SELECT * FROM events WHERE sk > 1 OR pk = 'a'`);
  assert.equal(p.action, 'Scan');
  assert.equal(text(p.request, 'FilterExpression'), 'sk > {"N":"1"} OR pk = {"S":"a"}');
  assert.equal(plan(`SELECT * FROM events`).action, 'Scan');
  // Two range conditions or a key attribute left in the filter are not a key condition.
  assert.equal(plan(`SELECT * FROM events WHERE pk = 'a' AND sk > 1 AND sk < 5`).action, 'Scan');
  assert.equal(plan(`SELECT * FROM events WHERE pk = 'a' AND (sk = 1 OR sk = 2)`).action, 'Scan');
});

test('an index is queried by its own hash key', () => {
  const p = plan(`SELECT * FROM events."byOwner" WHERE owner = 'ann'`);
  assert.equal(p.action, 'Query');
  assert.equal(p.request.IndexName, 'byOwner');
  refuses(`SELECT * FROM events.nope`, 'The table does not have the specified index: nope');
});

test('ORDER BY on the range key sets the direction of a Query and needs a hash key condition', () => {
  assert.equal(
    plan(`SELECT * FROM events WHERE pk = 'a' ORDER BY sk DESC`).request.ScanIndexForward,
    false,
  );
  refuses(
    `SELECT * FROM events ORDER BY sk`,
    'Must have WHERE clause in the statement when using ORDER BY clause.',
  );
  refuses(
    `SELECT * FROM events WHERE sk = 1 ORDER BY sk`,
    'Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause.',
  );
  refuses(
    `SELECT * FROM events WHERE pk = 'a' ORDER BY color`,
    'Variable reference color in ORDER BY clause must be part of the primary key',
  );
});

test('writes need an equality on every key attribute, in DynamoDB words', () => {
  const missing = 'Where clause does not contain a mandatory equality on all key attributes';
  refuses(`DELETE FROM events WHERE pk = 'a'`, missing);
  refuses(`UPDATE events SET x = 1`, missing);
  refuses(`UPDATE events SET x = 1 WHERE pk = 'a' OR sk = 1`, missing);
  refuses(
    `DELETE FROM events WHERE pk = 'a' AND pk = 'b' AND sk = 1`,
    'Multiple conditions on same key pk. Only single item Update/Insert/Delete are supported',
  );
  refuses(
    `DELETE FROM events WHERE pk = 1 AND sk = 1`,
    "Key attribute's data type should match its data type in table's schema: Key pk",
  );
  refuses(
    `DELETE FROM events WHERE pk = 'a' AND sk = 1 RETURNING ALL NEW *`,
    'Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in DELETE statements.',
  );
});

test('UPDATE changes only an item that exists, and the rest of its WHERE is a condition', () => {
  const p = plan(
    `UPDATE events SET n = n + 1, s = set_add(s, <<'x'>>) REMOVE gone WHERE pk = 'a' AND sk = 1 AND n < 10 RETURNING ALL OLD *`,
  );
  assert.equal(p.action, 'UpdateItem');
  assert.deepEqual(p.request.Key, { pk: { S: 'a' }, sk: { N: '1' } });
  assert.equal(
    text(p.request, 'UpdateExpression'),
    'SET n = n + {"N":"1"} REMOVE gone ADD s {"SS":["x"]}',
  );
  assert.equal(text(p.request, 'ConditionExpression'), 'attribute_exists(pk) AND n < {"N":"10"}');
  assert.equal(p.request.ReturnValues, 'ALL_OLD');
  refuses(
    `UPDATE events SET s = set_add(t, <<'x'>>) WHERE pk = 'a' AND sk = 1`,
    'The first argument to SET_ADD must equal the assignment value',
  );
});

test('INSERT is a PutItem that fails when the key exists; DELETE conditions only on the rest', () => {
  const p = plan(`INSERT INTO events VALUE {'pk': 'a', 'sk': 1}`);
  assert.equal(p.action, 'PutItem');
  assert.equal(p.insert, true);
  assert.equal(text(p.request, 'ConditionExpression'), 'attribute_not_exists(pk)');
  const d = plan(`DELETE FROM events WHERE sk = 1 AND pk = 'a'`);
  assert.equal(d.action, 'DeleteItem');
  assert.equal(d.request.ConditionExpression, undefined);
});

test('in a batch or a transaction a SELECT reads one item by its whole key', () => {
  const p = plan(`SELECT a FROM events WHERE pk = 'a' AND sk = 1`, 'batch');
  assert.equal(p.action, 'GetItem');
  assert.deepEqual(p.request.Key, { pk: { S: 'a' }, sk: { N: '1' } });
  refuses(`SELECT * FROM events WHERE pk = 'a'`, 'Only single item select is supported', 'batch');
  refuses(
    `SELECT * FROM events WHERE pk = 'a' AND sk = 1 AND x = 2`,
    'Only single item select is supported',
    'batch',
  );
  refuses(
    `SELECT * FROM events WHERE pk = 'a'`,
    'Select statements within ExecuteTransaction must specify the primary key in the where clause.',
    'transaction',
  );
  refuses(
    `SELECT * FROM events.byOwner WHERE owner = 'a'`,
    'Reads on indices are not supported within transactions.',
    'transaction',
  );
});

test('the written expressions parse back to the same trees', () => {
  const p = plan(
    `SELECT * FROM events WHERE NOT (a = 1 OR b = 2) AND (c = 3 OR size(d) > 4) AND e IS NOT MISSING`,
  );
  const req = p.request;
  const ctx = {
    names: req.ExpressionAttributeNames as Record<string, string>,
    values: req.ExpressionAttributeValues as never,
    usedNames: new Set<string>(),
    usedValues: new Set<string>(),
  };
  const c = parseCondition(req.FilterExpression as string, ctx);
  assert.equal(c.kind, 'and');
  assert.equal(
    text(req, 'FilterExpression'),
    'NOT (a = {"N":"1"} OR b = {"N":"2"}) AND (c = {"N":"3"} OR size(d) > {"N":"4"}) AND attribute_exists(e)',
  );
});

test("SELECT's answer names a nested path by its last name and the indexes after it", () => {
  const projected = {
    pk: { S: 'a' },
    m: { M: { x: { L: [{ N: '2' }, { N: '3' }] }, y: { S: 'y' } } },
  };
  assert.deepEqual(unnest(projected, [['pk'], ['m', 'x', 1], ['m', 'x', 2], ['m', 'y']]), {
    pk: { S: 'a' },
    'x[1]': { N: '2' },
    'x[2]': { N: '3' },
    y: { S: 'y' },
  });
});
