// Update expressions applied to items: the cases where DynamoDB's answer is not the
// obvious one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyUpdate } from './evaluate.ts';
import { parseUpdate, type ExpressionContext } from './parser.ts';
import type { AttributeValue } from '../values.ts';

const update = (expr: string, values: Record<string, AttributeValue> = {}) => {
  const ctx: ExpressionContext = { names: {}, values, usedNames: new Set(), usedValues: new Set() };
  return parseUpdate(expr, ctx);
};
const S = (s: string): AttributeValue => ({ S: s });
const invalidPath = /The document path provided in the update expression is invalid for update/;

test('elements set past the end of a list are appended in index order', () => {
  const u = update('SET a[84] = :a1, a[37] = :a2, a[17] = :a3, a[50] = :a4', {
    ':a1': S('a1'),
    ':a2': S('a2'),
    ':a3': S('a3'),
    ':a4': S('a4'),
  });
  const next = applyUpdate(u, { a: { L: [S('one')] } });
  assert.deepEqual(next.a, { L: ['one', 'a3', 'a2', 'a4', 'a1'].map(S) });
});

test('REMOVE ignores a missing map key or list index but not a missing or wrong parent', () => {
  const item = { a: S('hello'), l: { L: [S('x')] }, m: { M: { k: S('v') } } };
  assert.deepEqual(applyUpdate(update('REMOVE l[17], m.nokey'), item), item);
  for (const expr of ['REMOVE a.c', 'REMOVE c.c', 'REMOVE a[0]', 'REMOVE c[0]', 'REMOVE m[0]']) {
    assert.throws(() => applyUpdate(update(expr), item), invalidPath, expr);
  }
});

test('a sum with more than 38 significant digits is an overflow, in DynamoDB words', () => {
  for (const expr of ['SET b = :x - :one', 'SET b = :x + :one', 'ADD n :one']) {
    const u = update(expr, { ':x': { N: '1E50' }, ':one': { N: '1' } });
    assert.throws(
      () => applyUpdate(u, { n: { N: '1E50' } }),
      /Number overflow\. Attempting to store a number with magnitude larger than supported range$/,
      expr,
    );
  }
});

test('AttributeUpdates words a set of the wrong type as a type mismatch', () => {
  const item = { s: { SS: ['a'] }, str: S('x') };
  for (const expr of ['ADD s :ns', 'DELETE s :ns', 'DELETE str :ns']) {
    const u = update(expr, { ':ns': { NS: ['1'] } });
    assert.throws(
      () => applyUpdate(u, item, { legacy: true }),
      /^.*Type mismatch for attribute to update$/,
    );
    assert.throws(
      () => applyUpdate(u, item),
      /An operand in the update expression has an incorrect data type/,
    );
  }
});
