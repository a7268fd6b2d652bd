// Lambda's filter-pattern grammar on DynamoDB stream records, rule by rule.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FilterPatternError, parsePattern, passes } from './filter-pattern.ts';

const record = {
  eventName: 'INSERT',
  eventSource: 'aws:dynamodb',
  dynamodb: {
    Keys: { id: { S: 'user-7' } },
    NewImage: {
      id: { S: 'user-7' },
      status: { S: 'Active' },
      tags: { SS: ['a', 'b'] },
    },
    SizeBytes: 40,
  },
};

const ok = (pattern: unknown) => passes([parsePattern(JSON.stringify(pattern))], record);

describe('filter patterns', () => {
  test('equals matches a value of the list (an OR); a nested key walks the record', () => {
    assert.equal(ok({ eventName: ['MODIFY', 'INSERT'] }), true);
    assert.equal(ok({ eventName: ['REMOVE'] }), false);
    assert.equal(ok({ dynamodb: { NewImage: { status: { S: ['Active'] } } } }), true);
  });
  test('every key of a pattern must match (an AND)', () => {
    assert.equal(ok({ eventName: ['INSERT'], dynamodb: { Keys: { id: { S: ['x'] } } } }), false);
  });
  test('prefix, suffix and equals-ignore-case on strings', () => {
    assert.equal(ok({ dynamodb: { Keys: { id: { S: [{ prefix: 'user-' }] } } } }), true);
    assert.equal(ok({ dynamodb: { Keys: { id: { S: [{ suffix: '-7' }] } } } }), true);
    assert.equal(ok({ dynamodb: { Keys: { id: { S: [{ suffix: '-8' }] } } } }), false);
    const s = { dynamodb: { NewImage: { status: { S: [{ 'equals-ignore-case': 'ACTIVE' }] } } } };
    assert.equal(ok(s), true);
  });
  test('anything-but excludes values, or a prefix', () => {
    assert.equal(ok({ eventName: [{ 'anything-but': ['REMOVE'] }] }), true);
    assert.equal(ok({ eventName: [{ 'anything-but': 'INSERT' }] }), false);
    assert.equal(ok({ eventName: [{ 'anything-but': { prefix: 'INS' } }] }), false);
  });
  test('numeric ranges match JSON numbers, not the strings of DynamoDB N values', () => {
    assert.equal(ok({ dynamodb: { SizeBytes: [{ numeric: ['>', 10, '<=', 40] }] } }), true);
    assert.equal(ok({ dynamodb: { SizeBytes: [{ numeric: ['<', 10] }] } }), false);
    const n = { dynamodb: { NewImage: { id: { S: [{ numeric: ['>', 0] }] } } } };
    assert.equal(ok(n), false);
  });
  test('exists true and false', () => {
    assert.equal(ok({ dynamodb: { NewImage: { status: [{ exists: true }] } } }), true);
    assert.equal(ok({ dynamodb: { NewImage: { gone: [{ exists: false }] } } }), true);
    assert.equal(ok({ dynamodb: { NewImage: { gone: [{ exists: true }] } } }), false);
  });
  test('a list in the record matches when any element does', () => {
    assert.equal(ok({ dynamodb: { NewImage: { tags: { SS: ['b'] } } } }), true);
  });
  test('several filters: a record passes when any matches; none given passes all', () => {
    const f = [parsePattern('{"eventName":["REMOVE"]}'), parsePattern('{"eventName":["INSERT"]}')];
    assert.equal(passes(f, record), true);
    assert.equal(passes([], record), true);
  });
  test('malformed patterns are refused', () => {
    for (const bad of [
      'nope',
      '{}',
      '{"a":"x"}',
      '{"a":[]}',
      '{"a":[{"numeric":[">"]}]}',
      '{"a":[{"foo":1}]}',
    ]) {
      assert.throws(() => parsePattern(bad), FilterPatternError, bad);
    }
  });
});
