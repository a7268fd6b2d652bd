// The legacy condition parameters (Expected, QueryFilter, ScanFilter) turned into
// condition trees: what DynamoDB refuses before anything is read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conditionsToAst, expectedToAst } from './legacy.ts';

const N = (n: string) => ({ N: n });

test('ConditionalOperator needs two or more conditions', () => {
  const one = { a: { ComparisonOperator: 'EQ', AttributeValueList: [N('1')] } };
  const two = { ...one, b: { ComparisonOperator: 'EQ', AttributeValueList: [N('2')] } };
  for (const toAst of [expectedToAst, conditionsToAst]) {
    for (const raw of [undefined, {}]) {
      assert.throws(
        () => toAst(raw, 'OR'),
        /^.*ConditionalOperator cannot be used without Filter or Expected$/,
      );
    }
    assert.throws(
      () => toAst(one, 'AND'),
      /ConditionalOperator can only be used when Filter or Expected has two or more elements/,
    );
    assert.equal(toAst(two, 'OR')?.kind, 'or');
    assert.equal(toAst(one)?.kind, 'compare');
    assert.equal(toAst({}), undefined);
  }
});

test('CONTAINS takes a scalar, not a list or a map', () => {
  for (const op of ['CONTAINS', 'NOT_CONTAINS']) {
    for (const v of [{ L: [N('1')] }, { M: { x: N('1') } }]) {
      assert.throws(
        () => expectedToAst({ a: { ComparisonOperator: op, AttributeValueList: [v] } }),
        new RegExp(
          `ComparisonOperator ${op} is not valid for ${Object.keys(v)[0]} AttributeValue type`,
        ),
      );
    }
    assert.ok(expectedToAst({ a: { ComparisonOperator: op, AttributeValueList: [N('1')] } }));
  }
});
