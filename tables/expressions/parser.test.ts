// The expression parser: precedence, paths, substitution bookkeeping and errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate } from './evaluate.ts';
import {
  ExpressionError,
  parseCondition,
  parseProjection,
  parseUpdate,
  type ExpressionContext,
} from './parser.ts';

const ctx = (
  values: Record<string, unknown> = {},
  names: Record<string, string> = {},
): ExpressionContext => ({
  names,
  values: values as ExpressionContext['values'],
  usedNames: new Set(),
  usedValues: new Set(),
});

test('AND binds tighter than OR and NOT tighter than AND', () => {
  const c = parseCondition('a = :t OR b = :t AND NOT c = :t', ctx({ ':t': { BOOL: true } }));
  assert.equal(c.kind, 'or');
  const item = { a: { BOOL: false }, b: { BOOL: true }, c: { BOOL: false } };
  assert.equal(evaluate(c, item), true);
  assert.equal(evaluate(c, { ...item, c: { BOOL: true } }), false);
});

test('paths resolve names, nested maps and list indexes, and record what was used', () => {
  const c = ctx({}, { '#n': 'name', '#u': 'unused' });
  const [p] = parseProjection('#n.given[2].x', c);
  assert.deepEqual(p!.elems, ['name', 'given', 2, 'x']);
  assert.deepEqual([...c.usedNames], ['#n']);
});

test('keywords and functions are case-insensitive; function names are not', () => {
  const u = parseUpdate(
    'set a = :v remove b add c :n',
    ctx({ ':v': { S: 'x' }, ':n': { N: '1' } }),
  );
  assert.equal(u.set.length + u.remove.length + u.add.length, 3);
  assert.throws(
    () => parseCondition('Attribute_Exists(a)', ctx()),
    (e: Error) =>
      e instanceof ExpressionError &&
      e.message === 'Invalid function name; function: Attribute_Exists',
  );
});

test('a bare name starts with a letter; a #name or :value may start with a digit or _', () => {
  const u = parseUpdate(
    'SET A123_ = :_1, #1 = :2',
    ctx({ ':_1': { N: '1' }, ':2': { N: '2' } }, { '#1': 'x' }),
  );
  assert.deepEqual(
    u.set.map((s) => s.path.elems),
    [['A123_'], ['x']],
  );
  for (const bad of ['SET _123 = :v', 'SET _abc = :v', 'SET 123a = :v']) {
    assert.throws(() => parseUpdate(bad, ctx({ ':v': { N: '1' } })), /Syntax error; token: /, bad);
  }
});

test('+ and - join SET operands but not function arguments', () => {
  const values = { ':a': { N: '1' }, ':b': { N: '2' } };
  const u = parseUpdate('SET b = if_not_exists(b, :a)+:b', ctx(values));
  assert.equal(u.set[0]!.value.kind, '+');
  assert.throws(
    () => parseUpdate('SET c = if_not_exists(c, :a+:b)', ctx(values)),
    /Syntax error; token: "\+"/,
  );
});

test('BETWEEN bounds given as values must have one type and be in order', () => {
  const between = (lo: unknown, hi: unknown) => () =>
    parseCondition('a BETWEEN :lo AND :hi', ctx({ ':lo': lo, ':hi': hi }));
  assert.throws(
    between({ N: '2' }, { S: 'dog' }),
    (e: Error) =>
      e.message ===
      'The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {S:dog}',
  );
  assert.throws(
    between({ N: '2' }, { N: '1' }),
    (e: Error) =>
      e.message ===
      'The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}',
  );
  assert.equal(between({ N: '1' }, { N: '2' })().kind, 'between');
});

test('syntax errors name the token and what precedes it', () => {
  assert.throws(
    () => parseCondition('a = = b', ctx()),
    (e: Error) => e.message === 'Syntax error; token: "=", near: "= ="',
  );
  assert.throws(
    () => parseCondition('a = :v)', ctx({ ':v': { N: '1' } })),
    /Syntax error; token: "\)"/,
  );
  assert.throws(() => parseCondition('', ctx()), /The expression can not be empty;/);
});

test('limits: nesting depth, IN operands and expression size', () => {
  assert.throws(
    () => parseProjection(Array.from({ length: 33 }, () => 'a').join('.'), ctx()),
    /too many nesting levels; nesting levels: 33/,
  );
  const values = Object.fromEntries(
    Array.from({ length: 101 }, (_, i) => [`:v${i}`, { N: String(i) }]),
  );
  assert.throws(
    () => parseCondition(`a IN (${Object.keys(values).join(', ')})`, ctx(values)),
    /too many operands; number of operands: 101/,
  );
  assert.throws(
    () => parseCondition(`a = :v${' '.repeat(4100)}`, ctx({ ':v': { N: '1' } })),
    /Expression size has exceeded/,
  );
});
