// The PartiQL parser: the statement forms DynamoDB accepts, parameters and
// literals as attribute values, and the words of what it refuses (the refusals
// pinned here are DynamoDB's answers as recorded against the real service).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DynamoError } from '../errors.ts';
import { parseStatement } from './parser.ts';

const refuses = (src: string, message: string, params: unknown[] = []) =>
  assert.throws(
    () => parseStatement(src, params as never),
    (err: unknown) => {
      assert.ok(err instanceof DynamoError);
      assert.equal(err.type, 'ValidationException');
      assert.equal(err.message, message);
      return true;
    },
  );
const malformed = (detail: string) => `Statement wasn't well formed, can't be processed: ${detail}`;

test('a SELECT names a table or an index, a projection and a WHERE with AND binding tighter than OR', () => {
  const s = parseStatement(
    `select a, "b".c[2] FROM "t"."idx" where x = 1 or y = 'z' and not q = true`,
  );
  assert.equal(s.kind, 'select');
  if (s.kind !== 'select') return;
  assert.equal(s.table, 't');
  assert.equal(s.index, 'idx');
  assert.deepEqual(s.projection, [['a'], ['b', 'c', 2]]);
  assert.equal(s.where?.kind, 'binary');
  assert.equal(s.where?.kind === 'binary' && s.where.op, 'OR');
});

test('parameters, tuples, lists and bags become attribute values', () => {
  const s = parseStatement(
    `INSERT INTO t VALUE {'pk': ?, 'm': {'l': [1, 'two', null, true]}, 'ss': <<'a', 'b'>>, 'ns': <<1, 2>>}`,
    [{ S: 'k' }],
  );
  assert.deepEqual(s, {
    kind: 'insert',
    table: 't',
    item: {
      pk: { S: 'k' },
      m: { M: { l: { L: [{ N: '1' }, { S: 'two' }, { NULL: true }, { BOOL: true }] } } },
      ss: { SS: ['a', 'b'] },
      ns: { NS: ['1', '2'] },
    },
  });
});

test('numbers are exact decimals written as DynamoDB returns them', () => {
  const s = parseStatement(`SELECT * FROM t WHERE a = -0012.3400e1`);
  assert.deepEqual(s.kind === 'select' && s.where, {
    kind: 'binary',
    op: '=',
    left: { kind: 'path', elems: ['a'] },
    right: { kind: 'value', value: { N: '-123.4' } },
  });
});

test('UPDATE takes several SET and REMOVE clauses and a RETURNING', () => {
  const s = parseStatement(
    `UPDATE t SET a = 1, b.c[0] = b.c[0] + ? REMOVE x SET d = list_append(d, [1]) WHERE pk = 'k' RETURNING MODIFIED NEW *`,
    [{ N: '2' }],
  );
  assert.equal(s.kind, 'update');
  if (s.kind !== 'update') return;
  assert.deepEqual(
    s.actions.map((a) => a.kind + ':' + a.path.join('.')),
    ['set:a', 'set:b.c.0', 'remove:x', 'set:d'],
  );
  assert.equal(s.returning, 'UPDATED_NEW');
});

test('comments and a final semicolon are allowed, two statements are not', () => {
  assert.equal(parseStatement(`-- note\nSELECT * /* all */ FROM t;`).kind, 'select');
  refuses(`SELECT * FROM t; SELECT * FROM t`, malformed('Unexpected token after expression'));
});

test('what the grammar cannot read is refused in the words DynamoDB uses', () => {
  refuses(`SLECT * FROM t`, malformed('Expected data manipulation'));
  refuses(`SELECT * FROM t WHERE`, malformed('Unexpected term'));
  refuses(`SELECT * FROM t WHERE NOT`, malformed('Unexpected term'));
  refuses(
    `SELECT * FROM t WHERE pk = 'a' AND`,
    malformed('Missing right-hand side expression of infix operator'),
  );
  refuses(`SELECT * FROM t WHERE ORDER BY pk`, malformed('Unexpected keyword'));
  refuses(`SELECT * FROM t WHERE IS NULL`, malformed('Unexpected operator'));
  refuses(`SELECT * FROM t WHERE pk = 1 foo`, malformed('Unexpected token after expression'));
  refuses(`SELECT * FROM t WHERE pk = 1)`, malformed('Unexpected token after expression'));
  refuses(
    `SELECT * FROM t ORDER BY pk WHERE pk = 1`,
    malformed('Unexpected token after expression'),
  );
  refuses(`DELETE FROM`, malformed('Expected identifier for simple path'));
  refuses(`DELETE FROM WHERE pk = 'a'`, malformed('Expected identifier for simple path'));
  refuses(`SELECT * FROM`, malformed('Unexpected term'));
  refuses(`SELECT * FROM t WHERE pk = 1 # note`, malformed(''));
  refuses(`SELECT * FROM t WHERE pk = 1 /* note`, malformed(''));
  refuses(`SELECT * FROM t WHERE x IS FOO`, malformed('Expected type name'));
  refuses(`SELECT * FROM t WHERE pk = 1e2147483648`, malformed(''));
  refuses(`SELECT * FROM t WHERE pk = 1.5e-2147483647`, malformed(''));
  refuses(`INSERT INTO t x VALUE {'pk': 'x'}`, malformed('Unexpected token after expression'));
});

test('PartiQL keywords are no attribute names unless quoted', () => {
  refuses(`SELECT * FROM t WHERE pad = 'none'`, malformed('Unexpected keyword'));
  assert.equal(parseStatement(`SELECT * FROM t WHERE "pad" = 'none'`).kind, 'select');
});

test('aliases, several items, DISTINCT, LIMIT and RETURNING on INSERT are refused', () => {
  refuses(`SELECT * FROM t x WHERE pk = 'x'`, 'Aliasing is not supported');
  refuses(`SELECT * FROM t AS x`, 'Aliasing is not supported');
  refuses(`UPDATE t x SET a = 3 WHERE pk = 'x'`, 'Aliasing is not supported');
  refuses(`DELETE FROM t x WHERE pk = 'x'`, 'Aliasing is not supported');
  refuses(
    `INSERT INTO t VALUES {'pk': 'a'}`,
    'Unsupported operation: Inserting multiple items in a single statement is not supported, use "INSERT INTO tableName VALUE item" instead',
  );
  refuses(`SELECT DISTINCT a FROM t`, 'Unsupported token in expression: DISTINCT');
  refuses(`SELECT * FROM t LIMIT 1`, 'Unsupported clause: LIMIT');
  refuses(
    `INSERT INTO t VALUE {'pk': 'a'} RETURNING ALL OLD *`,
    'RETURNING is not supported in INSERT',
  );
  refuses(
    `SELECT *, a FROM t`,
    "Other attributes should not be present in the projection when '*' is used.",
  );
  refuses(`SELECT a, a FROM t`, 'Duplicate identifiers in select clause: a');
  refuses(`SELECT * FROM a.b.c`, 'A path may contain at most 2 components in the FROM clause');
});

test('number literals outside DynamoDB range name where they sit', () => {
  const over =
    'Number overflow. Attempting to store a number with magnitude larger than supported range';
  refuses(`SELECT * FROM t WHERE pk = 1e126`, `${over} under root`);
  refuses(
    `SELECT * FROM t WHERE pk = 1e-131`,
    'Number underflow. Attempting to store a number with magnitude smaller than supported range under root',
  );
  refuses(`INSERT INTO t VALUE {'pk': 1e126}`, `${over} under root`);
  refuses(`INSERT INTO t VALUE {'pk': 1, 'm': {'x': 1e126}}`, `${over} under root.x`);
  refuses(`INSERT INTO t VALUE {'pk': 1, 'l': [1, 1e126]}`, `${over} under root[1]`);
});

test('the count of parameters must match the statement, and bags hold one scalar type', () => {
  refuses(
    `SELECT * FROM t WHERE pk = ?`,
    "Number of parameters in request and statement don't match.",
  );
  refuses(`SELECT * FROM t`, "Number of parameters in request and statement don't match.", [
    { S: 'x' },
  ]);
  refuses(`INSERT INTO t VALUE {'s': <<>>}`, 'Empty bags are not supported');
  refuses(
    `INSERT INTO t VALUE {'s': <<1, 'a'>>}`,
    'Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags',
  );
});

test('nesting deep enough to exhaust the stack is refused, not crashed on', () => {
  refuses(
    `SELECT * FROM t WHERE ${'('.repeat(3000)}a = 1${')'.repeat(3000)}`,
    malformed('Expression nesting is too deep'),
  );
  refuses(
    `SELECT * FROM t WHERE ${'NOT '.repeat(2000)}a = 1`,
    malformed('Expression nesting is too deep'),
  );
  refuses(
    `INSERT INTO t VALUE {'a': ${'['.repeat(3000)}${']'.repeat(3000)}}`,
    malformed('Expression nesting is too deep'),
  );
});
