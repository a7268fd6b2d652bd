// Exact decimals: parsing, arithmetic beyond float precision, range errors, and the
// byte encoding whose unsigned order must equal numeric order.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addDecimal,
  compareDecimal,
  decimalRangeError,
  encodeDecimalKey,
  formatDecimal,
  negateDecimal,
  parseDecimal,
} from './decimal.ts';

const d = (s: string) => {
  const v = parseDecimal(s);
  assert.ok(v, `${s} parses`);
  return v;
};

test('numbers normalise to plain notation without leading or trailing zeros', () => {
  for (const [input, out] of [
    ['0012.3400', '12.34'],
    ['-0.000', '0'],
    ['1e3', '1000'],
    ['1.5E-3', '0.0015'],
    ['+7', '7'],
    ['.5', '0.5'],
    ['5.', '5'],
  ]) {
    assert.equal(formatDecimal(d(input!)), out, input);
  }
  for (const bad of ['', '.', 'abc', '1e', '--1', '1.2.3', 'Infinity', 'NaN', '0x10']) {
    assert.equal(parseDecimal(bad), undefined, bad);
  }
});

test('addition is exact where floats are not', () => {
  assert.equal(formatDecimal(addDecimal(d('0.1'), d('0.2'))), '0.3');
  assert.equal(
    formatDecimal(addDecimal(d('99999999999999999999999999999999999999'), d('1'))),
    '100000000000000000000000000000000000000',
  );
  assert.equal(formatDecimal(addDecimal(d('1E+100'), negateDecimal(d('1E+100')))), '0');
  assert.equal(formatDecimal(addDecimal(d('-1.25'), d('0.05'))), '-1.2');
});

test('range errors carry DynamoDB messages', () => {
  assert.match(decimalRangeError(d('1E+126'))!, /^Number overflow/);
  assert.match(decimalRangeError(d('1E-131'))!, /^Number underflow/);
  assert.match(decimalRangeError(d('1' + '0'.repeat(37) + '1'))!, /38 significant digits/);
  assert.equal(decimalRangeError(d('9.9999999999999999999999999999999999999E+125')), undefined);
  assert.equal(decimalRangeError(d('1E-130')), undefined);
});

test('the key encoding sorts bytewise exactly as the numbers sort', () => {
  const values = [
    '-1E+125',
    '-1000',
    '-999.9',
    '-10',
    '-2',
    '-1.5',
    '-1.25',
    '-1',
    '-0.5',
    '-0.05',
    '-1E-130',
    '0',
    '1E-130',
    '0.05',
    '0.5',
    '1',
    '1.25',
    '1.5',
    '2',
    '10',
    '999.9',
    '1000',
    '12345678901234567890123456789012345678',
    '9.9999999999999999999999999999999999999E+125',
  ];
  const shuffled = [...values].sort(() => Math.random() - 0.5);
  const byBytes = [...shuffled].sort((a, b) =>
    Buffer.compare(encodeDecimalKey(d(a)), encodeDecimalKey(d(b))),
  );
  const byValue = [...shuffled].sort((a, b) => compareDecimal(d(a), d(b)));
  assert.deepEqual(byBytes, values);
  assert.deepEqual(byValue, values);
  assert.ok(encodeDecimalKey(d('1.0')).equals(encodeDecimalKey(d('1'))));
});
